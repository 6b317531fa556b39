"""``layerwise train`` for the character models (char-lstm, char-gpt) on Tiny Shakespeare.

Both write a checkpoint every ``--checkpoint-every`` steps (char-lstm also at every
evaluation) and at the end, and a metrics log, ``OUT/metrics.jsonl``, with one row per step
and one per evaluation.  ``--resume`` continues the run saved in a checkpoint to its own end,
with its own settings; the rows the interrupted run logged after that checkpoint are dropped
first, so the log holds each step once."""
from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .paths import existing_file, first_line, output_folder

LSTM_EVAL_EVERY = 500


def _check_data(args, folder):
    """Load the text once up front: UserError when it is missing, damaged or not the original."""
    from ..data.text import TinyShakespeare
    if args.data is not None and not Path(args.data).is_dir():
        raise UserError(f"--data {args.data}: no such folder (it should hold Tiny Shakespeare's "
                        "input.txt)")
    try:
        TinyShakespeare(folder, download=args.download)
    except FileNotFoundError as e:
        raise UserError(first_line(e) + " Pass --data DIR (the folder with input.txt) or "
                        "--download.") from None
    except (RuntimeError, ValueError) as e:         # a damaged or different file, no network
        raise UserError(f"--data {args.data or folder or 'the cache'}: {first_line(e)}") from None


def _checkpoint_step(model, path):
    """The step of the resumable ``model`` checkpoint ``path``; UserError when it cannot be
    resumed (damaged, another model's, a finished run)."""
    from ..io import CheckpointError
    from ..models import charlstm, gpt
    existing_file("--resume", path)
    try:
        if model == "char-gpt":
            return gpt.read_checkpoint(path)["training"]["step"]
        return charlstm.read_checkpoint(path)["step"]
    except CheckpointError as e:
        raise UserError(f"--resume {e}") from None


def _metrics(out, resume_step):
    """OUT/metrics.jsonl: started afresh, or, resuming at ``resume_step``, without the rows
    logged after that step."""
    from ..tools.metrics import MetricsLog
    log = MetricsLog(out / "metrics.jsonl", overwrite=resume_step is None)
    if resume_step is not None:
        log.keep_rows(lambda row: row.get("step", 0) <= resume_step)
    return log


def train(args):
    """``layerwise train char-lstm|char-gpt``."""
    from ..models import gpt
    if args.epochs is not None:
        raise UserError(f"--epochs: {args.model} trains for a number of steps (--steps), not epochs")
    is_gpt = args.model == "char-gpt"
    _check_data(args, gpt.default_data_dir() if is_gpt and args.data is None else args.data)
    step = _checkpoint_step(args.model, args.resume) if args.resume else None
    out = output_folder("--out", args.out or f"runs/{args.model}")     # after the other checks
    metrics = _metrics(out, step)
    res = _train_gpt(args, out, metrics) if is_gpt else _train_lstm(args, out, metrics)
    print(f"validation loss {res['val_loss']:.4f} nats/char; wrote {res['checkpoint']}")
    return 0


def _train_lstm(args, out, metrics):
    from ..models import charlstm
    steps = args.steps
    return charlstm.train(data=args.data, download=False, out=out, seed=args.seed,
                          resume=args.resume, eval_every=min(LSTM_EVAL_EVERY, steps or LSTM_EVAL_EVERY),
                          eval_batches=20 if steps else 200, checkpoint_every=args.checkpoint_every,
                          metrics=metrics, steps=steps, lr=args.lr, batch_size=args.batch_size)


def _train_gpt(args, out, metrics):
    """``layerwise train char-gpt``: the baseline GPT of layerwise.models.gpt."""
    from ..models import gpt
    base = gpt.GPTConfig
    cfg = base(max_iters=args.steps or base.max_iters, lr=args.lr or base.lr, seed=args.seed,
               data=args.data, out=str(out), eval_batches=20 if args.steps else base.eval_batches,
               batch_size=args.batch_size or base.batch_size,
               checkpoint_interval=args.checkpoint_every)
    res = gpt.train(cfg, resume=args.resume,
                    on_step=lambda it, loss: metrics.log({"step": it + 1, "loss": loss}))
    metrics.log({"step": res["iters"], "val_loss": res["val_loss"]})
    return {"val_loss": res["val_loss"], "checkpoint": res["checkpoint"]}
