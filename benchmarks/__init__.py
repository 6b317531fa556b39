"""Side-by-side speed comparisons of layerwise and PyTorch (CPU) in one process."""
