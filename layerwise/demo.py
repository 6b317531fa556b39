"""`make demo` / `layerwise demo`: train a small CNN on the 8×8 handwritten digits bundled with scikit-learn.

    make demo          # or: layerwise demo [--epochs 15] [--out runs/demo]

1,797 images with a fixed 80/20 split (layerwise.data.datasets.Digits).  Prints
the model's summary (layers, output shapes, parameter counts), a progress bar
and the test accuracy per epoch, then writes a checkpoint and the training
history and plots (training curves, the first conv layer's kernels, the feature maps of one
test image) to the output folder and says where.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import layerwise as lw
from layerwise.data import DataLoader
from layerwise.data.datasets import Digits
from layerwise.tools.trainer import fit
from layerwise.models.zoo import digits_cnn


def main(argv=None, log=print):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=15, help="passes over the training set (default 15)")
    p.add_argument("--batch-size", type=int, default=32, help="images per step (default 32)")
    p.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate (default 3e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling (default 0)")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    a = p.parse_args(argv)

    lw.manual_seed(a.seed)
    train, test = Digits(train=True), Digits(train=False)
    train_loader = DataLoader(train, batch_size=a.batch_size, shuffle=True,
                              generator=lw.Generator().manual_seed(a.seed))
    test_loader = DataLoader(test, batch_size=256)
    model = digits_cnn()
    log(f"digits: {len(train)} training and {len(test)} test images of 8×8 pixels, 10 classes\n")
    lw.summary(model, input_size=(a.batch_size, 1, 8, 8))
    opt = lw.optim.AdamW(model.parameters(), lr=a.lr)
    sched = lw.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    start = time.perf_counter()
    history = fit(model, train_loader, opt, a.epochs, test_loader=test_loader, scheduler=sched, log=log)
    seconds = time.perf_counter() - start

    os.makedirs(a.out, exist_ok=True)
    ckpt = os.path.join(a.out, "digits_cnn.safetensors")
    lw.save(model.state_dict(), ckpt)
    with open(os.path.join(a.out, "history.json"), "w") as f:
        json.dump(history, f, indent=1)
    acc = history["test_acc"][-1]
    log(f"\nfinal test accuracy: {acc:.2%} after {a.epochs} epochs in {seconds:.1f} s")
    log(f"wrote {ckpt} and {os.path.join(a.out, 'history.json')}")
    try:
        from layerwise.tools.plots import save_demo_plots
        for path in save_demo_plots(model, history, test[0][0], a.out).values():
            log(f"wrote {path}")
    except ImportError as e:                     # matplotlib is an optional extra
        log(f"(no plots: {e})")
    return model, history


if __name__ == "__main__":
    main()
