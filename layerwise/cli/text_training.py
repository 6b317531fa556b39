"""``layerwise train`` for the character models (char-lstm, char-gpt) on Tiny Shakespeare."""
from __future__ import annotations

from pathlib import Path

from .errors import UserError


def train(args):
    """``layerwise train char-lstm|char-gpt``."""
    if args.data is not None and not Path(args.data).exists():
        raise UserError(f"--data {args.data}: no such folder (it should hold Tiny Shakespeare's input.txt)")
    if args.resume and not Path(args.resume).is_file():
        raise UserError(f"--resume {args.resume}: no such checkpoint file")
    out = args.out or f"runs/{args.model}"
    try:
        if args.model == "char-gpt":
            res = _train_gpt(args, out)
        else:
            res = _train_lstm(args, out)
    except FileNotFoundError as e:
        raise UserError(str(e).splitlines()[0] + " Pass --data DIR (the folder with input.txt) or "
                        "--download.") from None
    print(f"validation loss {res['val_loss']:.4f} nats/char; wrote {res['checkpoint']}")
    return 0


def _train_lstm(args, out):
    from ..models import charlstm
    try:
        return charlstm.train(data=args.data, download=args.download, out=out, seed=args.seed,
                              resume=args.resume, eval_every=min(500, args.steps or 500),
                              eval_batches=20 if args.steps else 200, steps=args.steps,
                              lr=args.lr, batch_size=args.batch_size if args.batch_size != 64 else None)
    except ValueError as e:
        if args.resume and str(e).startswith(str(args.resume)):
            raise UserError(str(e)) from None
        raise


def _train_gpt(args, out):
    """``layerwise train char-gpt``: the baseline GPT of layerwise.models.gpt."""
    from ..data.text import TinyShakespeare
    from ..models import gpt
    if args.data is None and args.download:
        TinyShakespeare(None, download=True)
    cfg = gpt.GPTConfig(max_iters=args.steps or gpt.GPTConfig.max_iters,
                        lr=args.lr or gpt.GPTConfig.lr, seed=args.seed, data=args.data, out=out,
                        eval_batches=20 if args.steps else gpt.GPTConfig.eval_batches,
                        batch_size=args.batch_size if args.batch_size != 64 else gpt.GPTConfig.batch_size,
                        checkpoint_interval=args.checkpoint_every)
    try:
        res = gpt.train(cfg, resume=args.resume)
    except ValueError as e:
        if args.resume and str(e).startswith(str(args.resume)):
            raise UserError(str(e)) from None
        raise
    return {"val_loss": res["val_loss"], "checkpoint": res["checkpoint"]}
