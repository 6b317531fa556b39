"""Train a character LSTM on Tiny Shakespeare and sample from it.

    python examples/char_lstm.py --data ../shared/data/tinyshakespeare        # ~3,000 steps
    python examples/char_lstm.py --steps 200 --eval-batches 20                   # a quick look

Model: Embedding(65, 64) → LSTM(64, 256, num_layers=2) → Linear(256, 65) (the code is in
layerwise/charlstm.py).  Adam, linear warm-up then cosine decay, gradient clipping at 1.0,
random windows of 100 characters, batch 32.  Reports the validation loss in nats per
character on a fixed set of validation batches (the last 10% of the text), writes a
checkpoint that `layerwise generate` can sample from, and prints samples.
"""
from __future__ import annotations

import argparse

import layerwise as lw
from layerwise.models import charlstm


def main(argv=None, log=print):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="folder with input.txt (default: the cache)")
    p.add_argument("--download", action="store_true")
    p.add_argument("--steps", type=int, default=charlstm.LSTM_DEFAULTS["steps"])
    p.add_argument("--hidden", type=int, default=charlstm.LSTM_DEFAULTS["hidden"])
    p.add_argument("--layers", type=int, default=charlstm.LSTM_DEFAULTS["layers"])
    p.add_argument("--lr", type=float, default=charlstm.LSTM_DEFAULTS["lr"])
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--eval-batches", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/char-lstm")
    a = p.parse_args(argv)
    res = charlstm.train(data=a.data, download=a.download, out=a.out, seed=a.seed,
                           eval_every=a.eval_every, eval_batches=a.eval_batches, log=log,
                           steps=a.steps, hidden=a.hidden, layers=a.layers, lr=a.lr)
    log(f"\nvalidation loss {res['val_loss']:.4f} nats/char after {a.steps} steps in "
        f"{res['seconds']:.0f} s; checkpoint {res['checkpoint']}")
    model, tok, _ = charlstm.load_for_generation(res["checkpoint"])
    for prompt in ("ROMEO:", "First Citizen:\n"):
        log("\n--- sample ---\n" + charlstm.sample(model, tok, prompt, 300, temperature=0.8, top_k=20,
                                                    generator=lw.Generator().manual_seed(a.seed)))
    return res


if __name__ == "__main__":
    main()
