"""VQAScore backends (placeholder)."""
