"""Tag2Text (Swin-B 384 + tagging head + BERT tag encoder and caption decoder), own implementation."""
