"""The character LSTM on Tiny Shakespeare: the model, its training recipe, evaluation, sampling,
and loading either character model (this LSTM or ``layerwise.models.gpt``) for generation.

Used by ``examples/char_lstm.py`` and the CLI (``layerwise train char-lstm``, ``layerwise
generate``).  A checkpoint written here is self-contained: it holds the model's configuration
and the tokenizer's vocabulary next to the weights, so ``generate`` needs nothing else, and
the whole training state, so ``train(resume=path)`` continues the run bit for bit.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import nn
from ..autograd import grad_mode
from ..data.text import CharTokenizer, TinyShakespeare, fixed_batches, lm_batches
from ..io import CheckpointError, load, load_training_checkpoint, save_training_checkpoint
from ..random import Generator, get_generator
from ..tensor import Tensor
from ..tools.progress import progress
from ..tools.schedules import warmup_cosine
from ..tools.trainer import train_steps
from . import _errors

KIND = "char-lstm"
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
    """The CharLSTM of the settings ``cfg`` (a dict like ``LSTM_DEFAULTS``)."""
    return CharLSTM(vocab_size, cfg["embed"], cfg["hidden"], cfg["layers"], cfg["dropout"])


def settings(**overrides):
    """``LSTM_DEFAULTS`` with the given entries replaced (None keeps the default)."""
    cfg = dict(LSTM_DEFAULTS)
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(f"unknown settings for {KIND}: {', '.join(sorted(unknown))}")
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg


def lr_schedule(optimizer, cfg):
    """Linear warm-up to ``lr`` over ``warmup`` steps, then cosine decay to ``min_lr`` at
    ``steps``: lr·(s + 1)/warmup, then min_lr + ½(1 + cos(π (s − warmup)/(steps − warmup)))
    (lr − min_lr)."""
    import layerwise as lw
    return warmup_cosine(lw, optimizer, warmup_steps=cfg["warmup"], total_steps=cfg["steps"],
                         min_lr=cfg["min_lr"])


def _logits(model, x):
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


def lm_loss(model, x, y):
    """Mean next-character cross-entropy of ``model`` on inputs x (B, T) and targets y (B, T)."""
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


def sample(model, tokenizer, prompt="\n", length=200, temperature=0.8, top_k=None, generator=None,
           block_size=None):
    """Generate ``length`` characters after ``prompt`` (temperature and top-k sampling).

    An LSTM carries its state from step to step; a GPT re-reads its last ``block_size`` tokens.
    """
    if not temperature > 0 or temperature == float("inf"):
        raise ValueError(f"sample: temperature must be a finite number > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"sample: top_k must be >= 1 or None, got {top_k}")
    if length < 0:
        raise ValueError(f"sample: length must be >= 0, got {length}")
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
            nxt = _draw(logits.array[0, -1], temperature, top_k, rng)
            ids.append(nxt)
            out.append(nxt)
            x = Tensor._wrap(np.array([[nxt]], np.int64))
    model.train(was)
    return prompt + tokenizer.decode(out)


def _draw(logits, temperature, top_k, rng):
    """One token id drawn from softmax(logits / temperature), kept to the ``top_k`` likeliest."""
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < len(z):
        cut = np.partition(z, -top_k)[-top_k]
        z = np.where(z < cut, -np.inf, z)
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


# ----------------------------------------------------------------------------- training
class _Run:
    """Everything a training run holds, and how it saves itself."""

    def __init__(self, cfg, tokenizer, model, optimizer, scheduler, batch_gen, path):
        self.cfg, self.tokenizer, self.model = cfg, tokenizer, model
        self.optimizer, self.scheduler, self.batch_gen = optimizer, scheduler, batch_gen
        self.path = path
        self.step, self.history = 0, []

    def save(self):
        save_training_checkpoint(
            self.path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
            step=self.step, epoch=0, extra={
                "kind": KIND, "config": self.cfg, "vocab": "".join(self.tokenizer.chars),
                "history": self.history, "batch_generator": self.batch_gen.get_state()})


def read_checkpoint(path):
    """A resumable char-LSTM training checkpoint, read and checked (its ``extra`` holds the
    config, vocabulary, history and batch generator); ``CheckpointError`` naming the file when
    it is not one (damaged, another model's, older) or its run has finished."""
    ckpt = load(path)
    extra = ckpt.get("extra") if isinstance(ckpt, dict) else None
    if not isinstance(extra, dict) or extra.get("kind") != KIND:
        raise CheckpointError(path, f"not a {KIND} training checkpoint (written by 'layerwise "
                              f"train {KIND}' or examples/char_lstm.py)")
    if ckpt.get("scheduler") is None:
        raise CheckpointError(path, "the checkpoint holds no learning-rate schedule to resume "
                              "(it was written by an older layerwise)")
    missing = [k for k in ("config", "vocab", "history", "batch_generator") if k not in extra]
    if missing:
        raise CheckpointError(path, f"a damaged {KIND} training checkpoint: no "
                              f"{', '.join(missing)}")
    try:
        steps = settings(**extra["config"])["steps"]
    except (TypeError, ValueError) as e:
        raise CheckpointError(path, f"a damaged {KIND} training checkpoint: {e}") from None
    if ckpt["step"] >= steps:
        raise CheckpointError(path, f"that run already finished its {steps} steps")
    return ckpt


def _start(cfg, data, download, seed, out):
    """The data sets and a fresh run of ``cfg`` (weights drawn from ``seed``)."""
    import layerwise as lw
    lw.manual_seed(seed)
    train_set = TinyShakespeare(data, split="train", download=download)
    val_set = TinyShakespeare(data, split="val", tokenizer=train_set.tokenizer)
    tok = train_set.tokenizer
    model = build(tok.vocab_size, cfg)
    opt = lw.optim.Adam(model.parameters(), lr=cfg["lr"])
    run = _Run(cfg, tok, model, opt, lr_schedule(opt, cfg), Generator().manual_seed(seed + 1),
               Path(out) / "checkpoint.safetensors")
    return run, train_set, val_set


def _restore(run, path, extra):
    """Continue the run saved in ``path`` (whose ``extra`` was read by ``read_checkpoint``)."""
    if extra["vocab"] != "".join(run.tokenizer.chars):
        raise CheckpointError(path, "the checkpoint's vocabulary differs from this text's")
    try:
        info = load_training_checkpoint(path, model=run.model, optimizer=run.optimizer,
                                        scheduler=run.scheduler)
        run.batch_gen.set_state(extra["batch_generator"])
    except CheckpointError:
        raise
    except _errors.UNFIT as e:                         # weights that do not fit
        raise _errors.unfit(path, "cannot resume from it", e) from e
    run.step = info["step"]
    run.history = list(extra["history"])



def train(*, data=None, download=False, out="runs/char-lstm", seed=0, resume=None,
          eval_every=500, eval_batches=200, checkpoint_every=0, log=print, show_progress=True,
          metrics=None, **overrides):
    """Train the character LSTM; return {'val_loss', 'history', 'seconds', 'checkpoint', 'config'}.

    ``overrides`` replace entries of ``LSTM_DEFAULTS``.  Writes ``out/checkpoint.safetensors``
    (a training checkpoint holding config and vocabulary) at every evaluation, every
    ``checkpoint_every`` steps and at the end; ``resume`` (such a checkpoint) continues that
    run to its own end, exactly, with its own settings.  ``metrics`` (a ``MetricsLog``) gets a
    row per step (step, loss) and per evaluation (step, val_loss).
    """
    extra = read_checkpoint(resume)["extra"] if resume else None
    cfg = settings(**extra["config"]) if extra else settings(**overrides)
    run, train_set, val_set = _start(cfg, data, download, seed, out)
    val = fixed_batches(val_set.data, cfg["block_size"], cfg["batch_size"], eval_batches, seed=1234)
    run.path.parent.mkdir(parents=True, exist_ok=True)
    if resume:
        _restore(run, resume, extra)
        log(f"resumed from {resume} at step {run.step} of {cfg['steps']}")
    batches = lm_batches(train_set.data, cfg["block_size"], cfg["batch_size"],
                         generator=run.batch_gen)
    start = time.perf_counter()
    bar = progress(total=cfg["steps"], initial=run.step, desc=KIND,
                   disable=None if show_progress else True)

    def after_step(step, value, batch, output):
        run.step = step
        if metrics is not None:
            metrics.log({"step": step, "loss": value})
        bar.update(1)
        bar.set_postfix_str(f"loss={value:.3f}")
        if step % eval_every == 0 or step == cfg["steps"]:
            _evaluate(run, val, value, start, log, metrics)
            run.save()
        elif checkpoint_every and step % checkpoint_every == 0:
            run.save()

    train_steps(run.model, run.optimizer, batches, lambda m, b: (lm_loss(m, *b), None),
                steps=cfg["steps"], start_step=run.step, scheduler=run.scheduler,
                clip_grad_norm=cfg.get("clip"), on_step=after_step)
    bar.close()
    return {"val_loss": run.history[-1]["val_loss"] if run.history else None,
            "history": run.history, "seconds": time.perf_counter() - start,
            "checkpoint": str(run.path), "config": cfg}


def _evaluate(run, val, train_loss, start, log, metrics):
    """Validation loss now: into the run's history, the log and the metrics."""
    v = evaluate(run.model, val)
    seconds = time.perf_counter() - start
    run.history.append({"step": run.step, "train_loss": train_loss, "val_loss": v,
                        "seconds": seconds})
    if metrics is not None:
        metrics.log({"step": run.step, "val_loss": v})
    if log:
        log(f"step {run.step}: train loss {train_loss:.4f}, val loss {v:.4f} nats/char "
            f"({seconds:.0f} s)")


# ----------------------------------------------------------------------------- generation
def load_for_generation(path):
    """(model, tokenizer, block_size or None) from a char-LSTM or char-GPT checkpoint."""
    ckpt = load(path)
    if isinstance(ckpt, dict) and ckpt.get("format") == "layerwise.char_gpt":
        from . import gpt
        model, tok, cfg, _ = gpt.load_checkpoint(path)
        return model, tok, cfg.block_size
    extra = ckpt.get("extra") if isinstance(ckpt, dict) else None
    if not isinstance(extra, dict) or "vocab" not in extra or extra.get("kind") != KIND:
        raise CheckpointError(path, "not a character-model checkpoint written by 'layerwise "
                              "train char-lstm' or 'char-gpt'")
    try:
        tok = CharTokenizer(list(extra["vocab"]))
        model = build(tok.vocab_size, settings(**extra["config"]))
        model.load_state_dict(ckpt["model"])
    except _errors.UNFIT as e:
        raise _errors.unfit(path, f"a damaged {KIND} checkpoint", e) from e
    return model, tok, None
