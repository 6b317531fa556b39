"""Larger ready-made models with their training code (the small ones are in layerwise.zoo)."""
