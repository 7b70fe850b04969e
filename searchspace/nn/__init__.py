"""PyTorch modules for the block kinds (imported lazily: the spec layer never needs torch)."""
