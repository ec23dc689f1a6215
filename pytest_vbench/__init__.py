"""pytest-vbench: the VBench 1.0 video-generation benchmark as a pytest plugin."""

__version__ = "0.1.0"
