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


def _text_models():
    from . import charmodels
    return charmodels


def _all_model_names():
    from .zoo import MODELS
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
        return _text_models().train_command(args)
    if args.model not in IMAGE_MODELS:
        raise UserError(f"unknown model {args.model!r}; choose one of: "
                        + ", ".join(sorted(set(IMAGE_MODELS) | TEXT_MODELS)))
    import layerwise as lw
    from .io import load_training_checkpoint, save_training_checkpoint
    from .tools.metrics import MetricsLog
    from .tools.progress import Progress
    from .tools.trainer import check_finite, evaluate
    from .zoo import MODELS

    if args.resume and not Path(args.resume).is_file():
        raise UserError(f"--resume {args.resume}: no such checkpoint file")
    _, default_epochs, default_lr = IMAGE_MODELS[args.model]
    epochs = args.epochs or default_epochs
    lr = args.lr or default_lr
    lw.manual_seed(args.seed)
    loader, test_loader = _image_data(args.model, args.data, args.batch_size, args.seed, args.download)
    model = MODELS[args.model][0]()
    opt = lw.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    out = Path(args.out or f"runs/{args.model}")
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.safetensors"
    step, start_epoch = 0, 1
    if args.resume:
        info = load_training_checkpoint(args.resume, model=model, optimizer=opt, loader=loader)
        step, start_epoch = info["step"], info["epoch"]
        print(f"resumed from {args.resume} at step {step} (epoch {start_epoch})")
    log = MetricsLog(out / "metrics.jsonl", overwrite=not args.resume)
    done = False
    for epoch in range(start_epoch, epochs + 1):
        with Progress(total=len(loader), desc=f"epoch {epoch}/{epochs}") as bar:
            for x, y in loader:
                outp = model(x)
                loss = lw.nn.functional.cross_entropy(outp, y)
                value = loss.item()
                step += 1
                check_finite(value, step, epoch)
                opt.zero_grad()
                loss.backward()
                opt.step()
                bar.update(len(y), loss=value, correct=int((outp.argmax(dim=1) == y).sum().item()))
                log.log({"step": step, "epoch": epoch, "loss": value})
                if args.checkpoint_every and step % args.checkpoint_every == 0:
                    save_training_checkpoint(ckpt_path, model=model, optimizer=opt, loader=loader,
                                             step=step, epoch=epoch)
                if args.steps and step >= args.steps:
                    done = True
                    break
        test_loss, test_acc = evaluate(model, test_loader)
        log.log({"step": step, "epoch": epoch, "test_loss": test_loss, "test_acc": test_acc})
        print(f"epoch {epoch}: train loss {bar.loss:.4f}, test loss {test_loss:.4f}, "
              f"test accuracy {test_acc:.2%}")
        save_training_checkpoint(ckpt_path, model=model, optimizer=opt, loader=loader, step=step,
                                 epoch=epoch if done else epoch + 1)
        if done:
            break
    print(f"wrote {ckpt_path} and {out / 'metrics.jsonl'}")
    return 0


def cmd_summary(args):
    from .tools.summary import summary
    from .zoo import MODELS
    if args.model in TEXT_MODELS:
        model, input_size, dtypes = _text_models().summary_model(args.model)
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
    return _text_models().generate_command(args)


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
