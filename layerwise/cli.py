"""The ``layerwise`` command line (also ``python -m layerwise``).

    layerwise demo                                   train the digits CNN (what `make demo` runs)
    layerwise train MODEL [options]                  train a model from the zoo, with checkpoints
    layerwise summary MODEL                          print a model's layers and parameter counts
    layerwise generate CHECKPOINT --prompt TEXT      sample text from a character model
    layerwise bench [--vs torch]                     time layerwise against PyTorch side by side

A user mistake (a missing data folder, a bad path, an unknown model) prints one
clear sentence and exits with status 2; it never shows a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


class UserError(Exception):
    """A mistake in how the command was called; printed as one sentence, exit status 2."""


IMAGE_MODELS = {            # name: (dataset, default epochs, default lr)
    "digits-cnn": ("digits", 15, 3e-3),
    "lenet5": ("mnist", 4, 1e-2),
    "mnist-small-cnn": ("mnist", 4, 2e-3),
    "mnist-cnn": ("mnist", 2, 1e-3),
}
TEXT_MODELS = {"char-lstm", "char-gpt"}


def _all_model_names():
    from .models.zoo import MODELS
    return sorted(set(MODELS) | set(IMAGE_MODELS) | TEXT_MODELS)


# ----------------------------------------------------------------------------- commands
def cmd_demo(args):
    from .demo import main as demo_main
    argv = ["--epochs", str(args.epochs), "--out", args.out, "--seed", str(args.seed)]
    demo_main(argv)
    return 0


def _image_data(name, data_dir, batch_size, seed, download):
    import layerwise as lw
    from .data import DataLoader
    from .data.datasets import MNIST, Digits
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


def cmd_train(args):
    if args.model in TEXT_MODELS:
        return _train_text_model(args)
    if args.model not in IMAGE_MODELS:
        raise UserError(f"unknown model {args.model!r}; choose one of: "
                        + ", ".join(sorted(set(IMAGE_MODELS) | TEXT_MODELS)))
    import layerwise as lw
    from .io import load_training_checkpoint, save_training_checkpoint
    from .models.zoo import MODELS
    from .tools.metrics import MetricsLog
    from .tools.trainer import fit

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


def cmd_summary(args):
    from .models.zoo import MODELS
    from .tools.summary import summary
    if args.model in TEXT_MODELS:
        model, input_size, dtypes = _text_summary_model(args.model)
        summary(model, input_size=input_size, dtypes=dtypes)
        return 0
    if args.model not in MODELS:
        raise UserError(f"unknown model {args.model!r}; choose one of: " + ", ".join(_all_model_names()))
    build, input_size = MODELS[args.model]
    summary(build(), input_size=input_size)
    return 0


def cmd_generate(args):
    if not Path(args.checkpoint).is_file():
        raise UserError(f"{args.checkpoint}: no such checkpoint file")
    return _generate(args)


def cmd_bench(args):
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "run.py").is_file():
        raise UserError("the benchmarks live in the layerwise source checkout (benchmarks/); run "
                        "`layerwise bench` from an editable install of it (make test sets one up)")
    sys.path.insert(0, str(root))
    from benchmarks.run import run
    if args.vs and args.vs != "torch":
        raise UserError(f"--vs {args.vs}: only 'torch' is supported")
    run(only=args.only, threads=args.threads, repeats=args.repeats, vs_torch=args.vs == "torch")
    return 0


# ----------------------------------------------------------------------------- character models
def _train_text_model(args):
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
    from .models import charlstm
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
    from .data.text import TinyShakespeare
    from .models import gpt
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


def _generate(args):
    from .models.charlstm import load_for_generation, sample
    from .random import Generator
    try:
        model, tok, block_size = load_for_generation(args.checkpoint)
    except ValueError as e:
        raise UserError(str(e)) from None
    unknown = sorted(set(args.prompt) - set(tok.chars))
    if unknown:
        raise UserError(f"the prompt has characters the model never saw: {''.join(unknown)!r}")
    if args.temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}")
    text = sample(model, tok, args.prompt, args.length, args.temperature, args.top_k,
                  Generator().manual_seed(args.seed), block_size=block_size)
    print(text)
    return 0


def _text_summary_model(kind):
    """(model, input size, dtypes) for ``layerwise summary char-lstm|char-gpt``."""
    import layerwise as lw
    if kind == "char-gpt":
        from .models import gpt
        cfg = gpt.GPTConfig()
        return gpt.build_gpt(lw, cfg), (1, cfg.block_size), [lw.int64]
    from .models import charlstm
    cfg = charlstm.LSTM_DEFAULTS
    return charlstm.build(65, cfg), (1, cfg["block_size"]), [lw.int64]


# ----------------------------------------------------------------------------- parser
def build_parser():
    p = argparse.ArgumentParser(
        prog="layerwise", description="layerwise: deep-learning layers on NumPy, with PyTorch's API.",
        epilog="Run 'layerwise COMMAND --help' for the options of a command.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="train a small CNN on the bundled 8x8 digits (what `make demo` runs)",
                       description="Train a small CNN on scikit-learn's 8x8 digits; print its summary, "
                                   "progress and test accuracy; write a checkpoint and plots.")
    d.add_argument("--epochs", type=int, default=15, help="passes over the training set (default 15)")
    d.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.set_defaults(func=cmd_demo)

    t = sub.add_parser("train", help="train a model from the zoo, with checkpoints and a metrics log",
                       description="Train MODEL with a progress bar, a training checkpoint "
                                   "(OUT/checkpoint.safetensors, resumable with --resume) and a "
                                   "metrics log (OUT/metrics.jsonl).")
    t.add_argument("model", metavar="MODEL",
                   help="one of: " + ", ".join(sorted(set(IMAGE_MODELS) | TEXT_MODELS)))
    t.add_argument("--epochs", type=int, default=None, help="passes over the data (default: per model)")
    t.add_argument("--steps", type=int, default=None, help="stop after this many optimisation steps")
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: per model)")
    t.add_argument("--batch-size", type=int, default=64, help="examples per step (default 64)")
    t.add_argument("--data", default=None, help="data folder (MNIST .gz files, or Tiny Shakespeare's input.txt)")
    t.add_argument("--download", action="store_true", help="download the data set if it is missing")
    t.add_argument("--out", default=None, help="output folder (default runs/MODEL)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--resume", metavar="CHECKPOINT", default=None, help="continue from a training checkpoint")
    t.add_argument("--checkpoint-every", type=int, default=500,
                   help="also save a checkpoint every N steps (default 500; 0 = only per epoch)")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("summary", help="print a model's layers, output shapes and parameter counts",
                       description="Print lw.summary for a model of the zoo.")
    s.add_argument("model", metavar="MODEL", help="a model name (see 'layerwise train --help')")
    s.set_defaults(func=cmd_summary)

    g = sub.add_parser("generate", help="sample text from a trained character model",
                       description="Sample text from a char-lstm or char-gpt checkpoint written by "
                                   "'layerwise train'.")
    g.add_argument("checkpoint", metavar="CHECKPOINT", help="the checkpoint file")
    g.add_argument("--prompt", default="\n", help="text to start from (default: a newline)")
    g.add_argument("--length", type=int, default=200, help="characters to generate (default 200)")
    g.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default 0.8)")
    g.add_argument("--top-k", type=int, default=None, help="sample only from the k likeliest characters")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.set_defaults(func=cmd_generate)

    b = sub.add_parser("bench", help="time layerwise against PyTorch, side by side",
                       description="Run the benchmark workloads interleaved in one process and print "
                                   "median/min milliseconds and the ratio layerwise / torch.")
    b.add_argument("--vs", default=None, metavar="LIB", help="compare with LIB (only 'torch')")
    b.add_argument("--only", default=None, help="workloads whose name contains this text")
    b.add_argument("--threads", type=int, default=1, help="BLAS threads for both (default 1)")
    b.add_argument("--repeats", type=int, default=20, help="timed steps per library (default 20)")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except UserError as e:
        print(f"layerwise: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("layerwise: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                  # output piped into `head` and closed: not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":
    sys.exit(main())
