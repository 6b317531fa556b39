"""``layerwise train`` for the image models: AdamW on digits or MNIST, by epochs with ``fit``, a
training checkpoint per epoch and every ``--checkpoint-every`` steps, a metrics log per step."""
from __future__ import annotations

from pathlib import Path

from .catalog import IMAGE_MODELS
from .errors import UserError


def _image_data(name, data_dir, batch_size, seed, download):
    import layerwise as lw
    from ..data import DataLoader
    from ..data.datasets import MNIST, Digits
    if IMAGE_MODELS[name][0] == "digits":
        train, test = Digits(train=True), Digits(train=False)
    else:
        if data_dir is not None and not Path(data_dir).is_dir():
            raise UserError(f"--data {data_dir}: no such folder (it should hold the four MNIST .gz files)")
        try:
            train = MNIST(data_dir, train=True, download=download)
            test = MNIST(data_dir, train=False, download=download)
        except FileNotFoundError as e:
            raise UserError(str(e).splitlines()[0] + " Pass --data DIR (the folder with the MNIST "
                            ".gz files) or --download.") from None
    loader = DataLoader(train, batch_size=batch_size, shuffle=True,
                        generator=lw.Generator().manual_seed(seed))
    return loader, DataLoader(test, batch_size=1000)


def train(args):
    """``layerwise train`` for a model of ``IMAGE_MODELS``."""
    import layerwise as lw
    from ..io import load_training_checkpoint, save_training_checkpoint
    from ..models.zoo import MODELS
    from ..tools.metrics import MetricsLog
    from ..tools.trainer import fit

    if args.resume and not Path(args.resume).is_file():
        raise UserError(f"--resume {args.resume}: no such checkpoint file")
    _, default_epochs, default_lr = IMAGE_MODELS[args.model]
    epochs = args.epochs or default_epochs
    lw.manual_seed(args.seed)
    loader, test_loader = _image_data(args.model, args.data, args.batch_size, args.seed, args.download)
    model = MODELS[args.model][0]()
    opt = lw.optim.AdamW(model.parameters(), lr=args.lr or default_lr, weight_decay=1e-4)
    out = Path(args.out or f"runs/{args.model}")
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.safetensors"
    step, start_epoch = 0, 1
    if args.resume:
        info = load_training_checkpoint(args.resume, model=model, optimizer=opt, loader=loader)
        step, start_epoch = info["step"], info["epoch"]
        print(f"resumed from {args.resume} at step {step} (epoch {start_epoch})")
    log = MetricsLog(out / "metrics.jsonl", overwrite=not args.resume)
    done = {"step": step}

    def save(epoch):
        save_training_checkpoint(ckpt_path, model=model, optimizer=opt, loader=loader,
                                 step=done["step"], epoch=epoch)

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

    fit(model, loader, opt, epochs, test_loader=test_loader, log=None, on_step=on_step,
        on_epoch_end=on_epoch_end, start_epoch=start_epoch, start_step=step,
        max_steps=args.steps or None)
    print(f"wrote {ckpt_path} and {out / 'metrics.jsonl'}")
    return 0
