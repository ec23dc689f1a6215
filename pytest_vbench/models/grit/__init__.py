"""GRiT (ViT-B DenseCap + ObjectDet) in plain PyTorch + torchvision.ops: backbone, proposals,
cascade RoI heads, text decoder and the predictor used by the four GRiT dimensions."""
