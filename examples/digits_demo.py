"""`make demo`: train a small CNN on the bundled 8×8 digits (the code is layerwise/demo.py,
also run by `layerwise demo`)."""
from layerwise.demo import main

if __name__ == "__main__":
    main()
