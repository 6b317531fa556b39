"""``layerwise train`` for the image models: AdamW on digits or MNIST, by epochs with ``fit``, a
training checkpoint per epoch and every ``--checkpoint-every`` steps, a metrics log per step.

After an interrupt, ``--resume`` continues from the last checkpoint and the metrics log keeps
each row once: the rows the interrupted run wrote after that checkpoint are dropped first."""
from __future__ import annotations

from pathlib import Path

from .catalog import IMAGE_MODELS
from .errors import UserError
from .paths import existing_file, first_line, output_folder

DEFAULT_BATCH_SIZE = 64


def _datasets(name, data_dir, download):
    """The model's (train, test) data sets; UserError when the files are missing or damaged."""
    from ..data.datasets import MNIST, Digits
    if IMAGE_MODELS[name][0] == "digits":
        return Digits(train=True), Digits(train=False)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UserError(f"--data {data_dir}: no such folder (it should hold the four MNIST .gz files)")
    try:
        return (MNIST(data_dir, train=True, download=download),
                MNIST(data_dir, train=False, download=download))
    except (FileNotFoundError, RuntimeError, ValueError) as e:   # missing, damaged, no network
        raise UserError(first_line(e) + " Pass --data DIR (the folder with the MNIST .gz files) "
                        "or --download.") from None


def _loaders(train, test, batch_size, seed):
    import layerwise as lw
    from ..data import DataLoader
    loader = DataLoader(train, batch_size=batch_size, shuffle=True,
                        generator=lw.Generator().manual_seed(seed))
    return loader, DataLoader(test, batch_size=1000)


def _resume(path, name, model, optimizer, loader):
    """Restore the run saved in ``path``; (step, epoch) it stood at.  UserError when the file is
    not a training checkpoint of this model (damaged, another model's, a plain weights file)."""
    from ..io import CheckpointError, load_training_checkpoint
    try:
        info = load_training_checkpoint(path, model=model, optimizer=optimizer, loader=loader)
    except CheckpointError as e:                   # damaged, or not a checkpoint at all
        raise UserError(f"--resume {e}") from None
    except (KeyError, RuntimeError, TypeError, ValueError) as e:
        if str(e).startswith(str(path)):           # readable, but not a training checkpoint
            raise UserError(f"--resume {first_line(e)}") from None
        raise UserError(f"--resume {path}: the checkpoint does not hold a {name} training run "
                        f"({_mismatch(e)})") from None    # another model's weights or optimizer
    return info["step"], info["epoch"]


def _mismatch(error):
    """The first detail of a load_state_dict error (its first line only says there are some)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    detail = lines[1] if len(lines) > 1 else (lines[0] if lines else type(error).__name__)
    return detail if len(detail) <= 160 else detail[:157] + "..."


def _kept_after_resume(step, epoch):
    """Which metrics rows a run resumed at (step, epoch) keeps: those written before its
    checkpoint.  An epoch's test row at the checkpoint's own step is kept only when the
    checkpoint was saved after that epoch ended (its epoch is the next one)."""
    def keep(row):
        at = row.get("step", 0)
        return at < step or (at == step and not ("test_loss" in row and row.get("epoch", 0) >= epoch))
    return keep


def train(args):
    """``layerwise train`` for a model of ``IMAGE_MODELS``."""
    import layerwise as lw
    from ..io import save_training_checkpoint
    from ..models.zoo import MODELS
    from ..tools.metrics import MetricsLog
    from ..tools.trainer import fit

    if args.resume:
        existing_file("--resume", args.resume)
    _, default_epochs, default_lr = IMAGE_MODELS[args.model]
    epochs = args.epochs or default_epochs
    lw.manual_seed(args.seed)
    loader, test_loader = _loaders(*_datasets(args.model, args.data, args.download),
                                   args.batch_size or DEFAULT_BATCH_SIZE, args.seed)
    model = MODELS[args.model][0]()
    opt = lw.optim.AdamW(model.parameters(), lr=args.lr or default_lr, weight_decay=1e-4)
    step, start_epoch = 0, 1
    if args.resume:
        step, start_epoch = _resume(args.resume, args.model, model, opt, loader)
    out = output_folder("--out", args.out or f"runs/{args.model}")   # after the other checks
    ckpt_path = out / "checkpoint.safetensors"
    if args.resume:
        print(f"resumed from {args.resume} at step {step} (epoch {start_epoch})")
    log = MetricsLog(out / "metrics.jsonl", overwrite=not args.resume)
    if args.resume:
        log.keep_rows(_kept_after_resume(step, start_epoch))
    done = {"step": step}

    def save(epoch):
        save_training_checkpoint(ckpt_path, model=model, optimizer=opt, loader=loader,
                                 step=done["step"], epoch=epoch, extra={"model": args.model})

    def on_step(step, loss, epoch):
        done["step"] = step
        log.log({"step": step, "epoch": epoch, "loss": loss})
        if args.checkpoint_every and step % args.checkpoint_every == 0:
            save(epoch)

    def on_epoch_end(epoch, history):
        test_loss, test_acc = history["test_loss"][-1], history["test_acc"][-1]
        log.log({"step": done["step"], "epoch": epoch, "test_loss": test_loss, "test_acc": test_acc})
        print(f"epoch {epoch}: train loss {history['train_loss'][-1]:.4f}, test loss "
              f"{test_loss:.4f}, test accuracy {test_acc:.2%}")
        finished = bool(args.steps) and done["step"] >= args.steps
        save(epoch if finished else epoch + 1)

    if start_epoch > epochs:
        print(f"the run in {args.resume} has finished its {epochs} epochs; nothing to do")
        return 0
    fit(model, loader, opt, epochs, test_loader=test_loader, log=None, on_step=on_step,
        on_epoch_end=on_epoch_end, start_epoch=start_epoch, start_step=step,
        max_steps=args.steps or None)
    print(f"wrote {ckpt_path} and {out / 'metrics.jsonl'}")
    return 0
