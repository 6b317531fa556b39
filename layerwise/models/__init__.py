"""The applications built on layerwise: ready-made models with their training recipes.

* ``layerwise.models.zoo``: small image models and an MLP (``MODELS``: name → builder), each
  built for layerwise or torch (``lib=``);
* ``layerwise.models.charlstm``: the character LSTM on Tiny Shakespeare (training, sampling,
  loading either character model for generation);
* ``layerwise.models.gpt``: the character GPT (``build_gpt(lib, cfg)`` for layerwise or torch,
  its training run, checkpoints and sampling).

All of them train with the one loop of ``layerwise.tools.trainer``.
"""
