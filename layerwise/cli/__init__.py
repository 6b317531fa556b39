"""The ``layerwise`` command line (also ``python -m layerwise``).

    layerwise demo                                   train the digits CNN (what `make demo` runs)
    layerwise train MODEL [options]                  train a model from the zoo, with checkpoints
    layerwise summary MODEL                          print a model's layers and parameter counts
    layerwise generate CHECKPOINT --prompt TEXT      sample text from a character model
    layerwise bench [--vs torch]                     time layerwise against PyTorch side by side

Every argument is checked before anything runs (``args.py``: integers and numbers in range;
``paths.py``: folders that can be written, files that exist).  A user mistake (an option out of
range, a missing data folder, a damaged or foreign checkpoint, an unknown model) prints one
clear sentence and exits with status 2; it never shows a traceback.  A run whose loss became
NaN exits with one sentence and status 1, Ctrl-C with status 130 (the last checkpoint kept).

The package: ``main.py`` builds the parser and runs a command; every module of ``commands/``
is one subcommand (adding one is adding a file there, see ``commands/__init__.py``);
``errors.py`` holds ``UserError``; ``image_training.py`` and ``text_training.py`` are what
``layerwise train`` runs for the image and the character models.
"""
from .errors import UserError
from .main import build_parser, main

__all__ = ["UserError", "build_parser", "main"]
