"""Which models the commands know: ``train`` trains the image and the text models, ``summary``
also prints the zoo's others (the MLP)."""
from __future__ import annotations

IMAGE_MODELS = {            # name: (dataset, default epochs, default lr)
    "digits-cnn": ("digits", 15, 3e-3),
    "lenet5": ("mnist", 4, 1e-2),
    "mnist-small-cnn": ("mnist", 4, 2e-3),
    "mnist-cnn": ("mnist", 2, 1e-3),
}
TEXT_MODELS = ("char-gpt", "char-lstm")


def trainable():
    """The names ``layerwise train`` accepts, sorted."""
    return sorted(set(IMAGE_MODELS) | set(TEXT_MODELS))


def summarisable():
    """The names ``layerwise summary`` accepts, sorted (the zoo and the text models)."""
    from ..models.zoo import MODELS
    return sorted(set(MODELS) | set(IMAGE_MODELS) | set(TEXT_MODELS))
