"""``layerwise summary MODEL``: a model's layers, output shapes and parameter counts."""
from __future__ import annotations

from .. import catalog
from ..errors import UserError

NAME = "summary"
ORDER = 30
HELP = "print a model's layers, output shapes and parameter counts"
DESCRIPTION = "Print lw.summary for a model of the zoo."


def add_arguments(p):
    p.add_argument("model", metavar="MODEL", help="a model name (see 'layerwise train --help')")


def run(args):
    from ...tools.summary import summary
    if args.model in catalog.TEXT_MODELS:
        model, input_size, dtypes = _text_model(args.model)
        summary(model, input_size=input_size, dtypes=dtypes)
        return 0
    from ...models.zoo import MODELS
    if args.model not in MODELS:
        raise UserError(f"unknown model {args.model!r}; choose one of: "
                        + ", ".join(catalog.summarisable()))
    build, input_size = MODELS[args.model]
    summary(build(), input_size=input_size)
    return 0


def _text_model(kind):
    """(model, input size, dtypes) of a character model at its default settings."""
    import layerwise as lw
    if kind == "char-gpt":
        from ...models import gpt
        cfg = gpt.GPTConfig()
        return gpt.build_gpt(lw, cfg), (1, cfg.block_size), [lw.int64]
    from ...models import charlstm
    cfg = charlstm.LSTM_DEFAULTS
    return charlstm.build(65, cfg), (1, cfg["block_size"]), [lw.int64]
