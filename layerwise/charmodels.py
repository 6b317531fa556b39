"""Character language models on Tiny Shakespeare: the char-LSTM, training, evaluation and sampling,
and the CLI glue for both character models (the GPT itself is in ``layerwise.models.gpt``).

Used by ``examples/char_lstm.py`` and the CLI (``layerwise train char-lstm|char-gpt``,
``layerwise generate``).  A checkpoint written here is self-contained: it holds
the model's configuration and the tokenizer's vocabulary next to the weights, so
``generate`` needs nothing else.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from . import nn
from .autograd import grad_mode
from .data.text import CharTokenizer, TinyShakespeare, fixed_batches, lm_batches
from .io import load, load_training_checkpoint, save_training_checkpoint
from .random import Generator, get_generator
from .tensor import Tensor
from .tools.progress import progress
from .tools.trainer import check_finite

LSTM_DEFAULTS = dict(embed=64, hidden=256, layers=2, dropout=0.0, block_size=100, batch_size=32,
                     lr=3e-3, steps=3000, warmup=100, min_lr=3e-4, clip=1.0)


class CharLSTM(nn.Module):
    """Embedding → multi-layer LSTM → Linear: next-character logits for every position.

    forward(idx (B, T) int64, state=None) → (logits (B, T, V), (h_n, c_n)).
    """

    def __init__(self, vocab_size, embed=64, hidden=256, layers=2, dropout=0.0):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, embed=embed, hidden=hidden, layers=layers,
                           dropout=dropout)
        self.embedding = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embedding(idx), state)
        return self.head(out), state


def build(vocab_size, cfg):
    return CharLSTM(vocab_size, cfg["embed"], cfg["hidden"], cfg["layers"], cfg["dropout"])


def _logits(model, x):
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


def lm_loss(model, x, y):
    logits = _logits(model, x)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def evaluate(model, batches):
    """Mean cross-entropy (nats per character) over a fixed list of (x, y) batches."""
    was = model.training
    model.eval()
    with grad_mode.no_grad():
        total = sum(lm_loss(model, x, y).item() for x, y in batches)
    model.train(was)
    return total / len(batches)


def lr_at(step, cfg):
    """Linear warm-up to ``lr`` over ``warmup`` steps, then cosine decay to ``min_lr`` at ``steps``."""
    if step < cfg["warmup"]:
        return cfg["lr"] * (step + 1) / cfg["warmup"]
    frac = min(1.0, (step - cfg["warmup"]) / max(1, cfg["steps"] - cfg["warmup"]))
    return cfg["min_lr"] + 0.5 * (cfg["lr"] - cfg["min_lr"]) * (1 + math.cos(math.pi * frac))


def sample(model, tokenizer, prompt="\n", length=200, temperature=0.8, top_k=None, generator=None,
           block_size=None):
    """Generate ``length`` characters after ``prompt`` (temperature and top-k sampling).

    An LSTM carries its state from step to step; a GPT re-reads its last ``block_size`` tokens.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    rng = get_generator(generator)
    ids = list(tokenizer.encode(prompt)) or [0]
    was = model.training
    model.eval()
    out = []
    with grad_mode.no_grad():
        recurrent = isinstance(model, CharLSTM)
        state = None
        x = Tensor._wrap(np.array([ids], np.int64))
        for _ in range(length):
            if recurrent:
                logits, state = model(x, state)
            else:
                ctx = ids[-block_size:] if block_size else ids
                logits = _logits(model, Tensor._wrap(np.array([ctx], np.int64)))
            z = logits.array[0, -1].astype(np.float64) / temperature
            if top_k is not None and top_k < len(z):
                cut = np.partition(z, -top_k)[-top_k]
                z = np.where(z < cut, -np.inf, z)
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids.append(nxt)
            out.append(nxt)
            x = Tensor._wrap(np.array([[nxt]], np.int64))
    model.train(was)
    return prompt + tokenizer.decode(out)


def train(*, data=None, download=False, out="runs/char-lstm", seed=0, resume=None,
          eval_every=500, eval_batches=200, log=print, show_progress=True, **overrides):
    """Train the character LSTM; return {'val_loss', 'history', 'seconds', 'checkpoint'}.

    ``overrides`` replace entries of ``LSTM_DEFAULTS``.
    Writes ``out/checkpoint.safetensors`` (a training checkpoint holding config and vocabulary)
    at every evaluation and at the end; ``resume`` continues such a checkpoint exactly.
    """
    import layerwise as lw
    kind = "char-lstm"
    cfg = dict(LSTM_DEFAULTS)
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(f"unknown settings for {kind}: {', '.join(sorted(unknown))}")
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    lw.manual_seed(seed)
    train_set = TinyShakespeare(data, split="train", download=download)
    val_set = TinyShakespeare(data, split="val", tokenizer=train_set.tokenizer)
    tok = train_set.tokenizer
    model = build(tok.vocab_size, cfg)
    opt = lw.optim.Adam(model.parameters(), lr=cfg["lr"])
    batch_gen = Generator().manual_seed(seed + 1)
    val = fixed_batches(val_set.data, cfg["block_size"], cfg["batch_size"], eval_batches, seed=1234)
    step, history = 0, []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.safetensors"
    if resume:
        info = load_training_checkpoint(resume, model=model, optimizer=opt)
        step = info["step"]
        batch_gen.set_state(info["extra"]["batch_generator"])
        history = info["extra"]["history"]
        log(f"resumed from {resume} at step {step}")
    batches = lm_batches(train_set.data, cfg["block_size"], cfg["batch_size"], generator=batch_gen)

    def save():
        save_training_checkpoint(ckpt, model=model, optimizer=opt, step=step, epoch=0, extra={
            "kind": kind, "config": cfg, "vocab": "".join(tok.chars), "history": history,
            "batch_generator": batch_gen.get_state()})

    start = time.perf_counter()
    bar = progress(total=cfg["steps"], initial=step, desc=kind, disable=None if show_progress else True)
    while step < cfg["steps"]:
        x, y = next(batches)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss = lm_loss(model, x, y)
        value = loss.item()
        check_finite(value, step + 1, 0)
        opt.zero_grad()
        loss.backward()
        if cfg.get("clip"):
            nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
        opt.step()
        step += 1
        if bar is not None and hasattr(bar, "update"):
            bar.update(1)
            bar.set_postfix_str(f"loss={value:.3f}")
        if step % eval_every == 0 or step == cfg["steps"]:
            v = evaluate(model, val)
            history.append({"step": step, "train_loss": value, "val_loss": v,
                            "seconds": time.perf_counter() - start})
            if log:
                log(f"step {step}: train loss {value:.4f}, val loss {v:.4f} nats/char "
                    f"({time.perf_counter() - start:.0f} s)")
            save()
    if hasattr(bar, "close"):
        bar.close()
    return {"val_loss": history[-1]["val_loss"] if history else None, "history": history,
            "seconds": time.perf_counter() - start, "checkpoint": str(ckpt), "config": cfg}


def load_for_generation(path):
    """(model, tokenizer, block_size or None) from a char-LSTM or char-GPT checkpoint."""
    ckpt = load(path)
    if isinstance(ckpt, dict) and ckpt.get("format") == "layerwise.char_gpt":
        from .models import gpt
        model, tok, cfg, _ = gpt.load_checkpoint(path)
        return model, tok, cfg.block_size
    extra = ckpt.get("extra") if isinstance(ckpt, dict) else None
    if not extra or "vocab" not in extra or extra.get("kind") != "char-lstm":
        raise ValueError(f"{path}: not a character-model checkpoint written by 'layerwise train "
                         "char-lstm' or 'char-gpt'")
    tok = CharTokenizer(list(extra["vocab"]))
    model = build(tok.vocab_size, extra["config"])
    model.load_state_dict(ckpt["model"])
    return model, tok, None


# ----------------------------------------------------------------------------- CLI glue
def train_command(args):
    from .cli import UserError
    if args.data is not None and not Path(args.data).exists():
        raise UserError(f"--data {args.data}: no such folder (it should hold Tiny Shakespeare's input.txt)")
    if args.resume and not Path(args.resume).is_file():
        raise UserError(f"--resume {args.resume}: no such checkpoint file")
    out = args.out or f"runs/{args.model}"
    try:
        if args.model == "char-gpt":
            res = _train_gpt(args, out)
        else:
            res = train(data=args.data, download=args.download, out=out, seed=args.seed,
                        resume=args.resume, eval_every=min(500, args.steps or 500),
                        eval_batches=20 if args.steps else 200, steps=args.steps, lr=args.lr,
                        batch_size=args.batch_size if args.batch_size != 64 else None)
    except FileNotFoundError as e:
        raise UserError(str(e).splitlines()[0] + " Pass --data DIR (the folder with input.txt) or "
                        "--download.") from None
    print(f"validation loss {res['val_loss']:.4f} nats/char; wrote {res['checkpoint']}")
    return 0


def _train_gpt(args, out):
    """``layerwise train char-gpt``: the baseline GPT of layerwise.models.gpt."""
    from .cli import UserError
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


def generate_command(args):
    from .cli import UserError
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


def summary_model(kind):
    """(model, input size, dtypes) for ``layerwise summary char-lstm|char-gpt``."""
    from . import int64
    if kind == "char-gpt":
        import layerwise as lw
        from .models import gpt
        cfg = gpt.GPTConfig()
        return gpt.build_gpt(lw, cfg), (1, cfg.block_size), [int64]
    return build(65, LSTM_DEFAULTS), (1, LSTM_DEFAULTS["block_size"]), [int64]
