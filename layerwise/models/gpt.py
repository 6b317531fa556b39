"""A character-level GPT on Tiny Shakespeare, in layerwise (run by examples/char_gpt.py and
``layerwise train char-gpt``).

    python examples/char_gpt.py                         # the baseline: 2,000 iterations
    python examples/char_gpt.py --iters 200 --eval-batches 50 --out runs/char-gpt
    python examples/char_gpt.py --generate runs/char-gpt/char_gpt.safetensors --prompt "ROMEO:"
    python examples/char_gpt.py --checkpoint-every 500          # interruptible; then
    python examples/char_gpt.py --resume runs/char-gpt/char_gpt.safetensors

The model (decoder-only Transformer, GPT-2 style): token + learned position embeddings, then
``n_layer`` pre-norm blocks

    x = x + c_proj(causal_attention(c_attn(ln_1(x))))           (heads of n_embd / n_head)
    x = x + mlp.c_proj(gelu(mlp.c_fc(ln_2(x))))                 (4 × n_embd hidden units)

a final LayerNorm ``ln_f`` and an output head ``lm_head`` that shares its weight with the token
embedding ``wte`` (weight tying).  With ``bias=False`` neither the Linear layers nor the
LayerNorms have biases.  The attention is ``nn.functional.scaled_dot_product_attention(q, k, v,
is_causal=True)`` (the fused op) by default; ``attention='mha'`` uses ``nn.MultiheadAttention``
instead (slower here: docs/transformer.md).

Training: AdamW (β = 0.9, 0.99; weight decay 0.1 on the 2-D weights, 0 on biases and LayerNorm
weights), learning rate warmed up linearly over ``warmup_iters`` then cosine-decayed from ``lr``
to ``min_lr`` at ``max_iters``, gradient clipping at ``grad_clip``.  Batches are random windows
of the training text drawn by NumPy from ``seed`` (``get_batch``), independent of either
library, so ``benchmarks/char_gpt_torch.py`` replays the very same run in torch.  The validation
loss is the mean over a fixed set of ``eval_batches`` windows of the last 10 % of the text.

Importable: ``GPTConfig``, ``build_gpt(lib, cfg)`` (lib = layerwise, or torch: the code uses
only the API the two share), ``train(cfg)``, ``evaluate``, ``generate``, ``load_checkpoint``.
A checkpoint (``lw.save``) holds the config, the vocabulary and the weights, so generation
needs nothing else; it also holds the training state (optimizer moments, iteration, both random
generators, the losses so far), so ``train(cfg, resume=path)`` continues an interrupted run and
ends exactly where the uninterrupted run would have.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time
import types
from pathlib import Path

import numpy as np

import layerwise as lw
from layerwise.io import CheckpointError
from layerwise.models import _errors
from layerwise.tools.schedules import warmup_cosine
from layerwise.tools.trainer import train_steps

ROOT = Path(__file__).resolve().parents[2]     # the source checkout, when run from one


# ============================================================================ configuration
@dataclasses.dataclass
class GPTConfig:
    # model
    vocab_size: int = 65
    block_size: int = 64           # context length
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False
    attention: str = "sdpa"        # 'sdpa' (fused scaled_dot_product_attention) or 'mha'
    # training
    batch_size: int = 12
    max_iters: int = 2000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    seed: int = 1337
    # evaluation
    eval_batches: int = 200
    eval_seed: int = 0
    eval_interval: int = 0         # also evaluate every N iterations (0: only at the end)
    checkpoint_interval: int = 0   # also save the checkpoint every N iterations (needs out)
    log_interval: int = 100
    data: str | None = None        # folder holding input.txt (None: the default search)
    out: str | None = None         # where the checkpoint goes (None: none is written)

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"GPTConfig: unknown field(s) {sorted(unknown)}")
        return cls(**d)


def _config(cfg):
    if cfg is None:
        return GPTConfig()
    if isinstance(cfg, dict):
        return GPTConfig.from_dict(cfg)
    return cfg


# ============================================================================ the model
def build_gpt(lib, cfg=None):
    """The GPT of ``cfg`` (a GPTConfig or a dict) as a ``lib.nn.Module`` (lib = layerwise or
    torch), initialised GPT-2 style from lib's generator: Linear and Embedding weights
    N(0, 0.02), the residual projections (``c_proj``) N(0, 0.02/√(2·n_layer)), biases 0,
    LayerNorms 1/0.  ``model(idx)`` → logits (B, T, vocab); ``model(idx, targets)`` →
    (logits, mean cross-entropy)."""
    cfg = _config(cfg)
    _check_config(cfg)
    model = _gpt_classes(lib).GPT(cfg)
    _init_gpt2(lib.nn.init, model, cfg)
    return model


def _check_config(cfg):
    if cfg.n_embd % cfg.n_head:
        raise ValueError(f"build_gpt: n_embd {cfg.n_embd} must be divisible by n_head {cfg.n_head}")
    if cfg.attention not in ("sdpa", "mha"):
        raise ValueError(f"build_gpt: attention must be 'sdpa' or 'mha', got {cfg.attention!r}")


def _init_gpt2(init, model, cfg, std=0.02):
    """GPT-2's initialisation: biases 0, LayerNorm weights 1, residual projections
    N(0, std/√(2·n_layer)), every other weight N(0, std)."""
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            init.zeros_(p)
        elif name.startswith("ln") or ".ln_" in name:
            init.ones_(p)
        elif name.endswith("c_proj.weight") or name.endswith("out_proj.weight"):
            init.normal_(p, mean=0.0, std=std / math.sqrt(2 * cfg.n_layer))
        else:
            init.normal_(p, mean=0.0, std=std)


@functools.lru_cache(maxsize=None)
def _gpt_classes(lib):
    """The GPT's module classes for ``lib`` (built once per library)."""
    attention = {"sdpa": _causal_self_attention(lib), "mha": _mha_self_attention(lib)}
    block = _block(lib, attention, _mlp(lib))
    return types.SimpleNamespace(GPT=_gpt(lib, block), Block=block, MLP=block.MLP,
                                 **{cls.__name__: cls for cls in attention.values()})


def _causal_self_attention(lib):
    nn, F = lib.nn, lib.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
            self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
            self.resid_dropout = nn.Dropout(cfg.dropout)
            self.n_head, self.n_embd, self.dropout = cfg.n_head, cfg.n_embd, cfg.dropout

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            hd = C // self.n_head
            q, k, v = (t.view(B, T, self.n_head, hd).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training
                                               else 0.0, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y))
    return CausalSelfAttention


def _mha_self_attention(lib):
    nn = lib.nn

    class MHASelfAttention(nn.Module):
        """The same attention through nn.MultiheadAttention (parameters attn.in_proj_weight,
        attn.out_proj.weight instead of c_attn / c_proj)."""

        def __init__(self, cfg):
            super().__init__()
            self.attn = nn.MultiheadAttention(cfg.n_embd, cfg.n_head, dropout=cfg.dropout,
                                              bias=cfg.bias, batch_first=True)
            self.resid_dropout = nn.Dropout(cfg.dropout)
            self._masks = {}

        def forward(self, x):
            T = x.shape[1]
            if T not in self._masks:
                self._masks[T] = lib.triu(lib.ones(T, T, dtype=lib.bool), diagonal=1)
            y = self.attn(x, x, x, attn_mask=self._masks[T], need_weights=False,
                          is_causal=True)[0]
            return self.resid_dropout(y)
    return MHASelfAttention


def _mlp(lib):
    nn, F = lib.nn, lib.nn.functional

    class MLP(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
            self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
            self.dropout = nn.Dropout(cfg.dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))
    return MLP


def _block(lib, attention, mlp):
    nn = lib.nn

    class Block(nn.Module):
        """x + attn(ln_1(x)), then + mlp(ln_2(x)) (pre-norm)."""
        MLP = mlp

        def __init__(self, cfg):
            super().__init__()
            self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.attn = attention[cfg.attention](cfg)
            self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.mlp = mlp(cfg)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))
    return Block


def _gpt(lib, block):
    nn, F = lib.nn, lib.nn.functional

    class GPT(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.config = cfg
            self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
            self.drop = nn.Dropout(cfg.dropout)
            self.h = nn.ModuleList([block(cfg) for _ in range(cfg.n_layer)])
            self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight                       # weight tying
            self.register_buffer("pos", lib.arange(cfg.block_size), persistent=False)

        def forward(self, idx, targets=None):
            cfg = self.config
            B, T = idx.shape
            if T > cfg.block_size:
                raise ValueError(f"GPT: sequence of length {T} is longer than the context "
                                 f"block_size={cfg.block_size}")
            x = self.drop(self.wte(idx) + self.wpe(self.pos[:T]))
            for layer in self.h:
                x = layer(x)
            logits = self.lm_head(self.ln_f(x))
            if targets is None:
                return logits
            loss = F.cross_entropy(logits.view(B * T, cfg.vocab_size), targets.view(B * T))
            return logits, loss
    return GPT


def param_groups(model):
    """AdamW groups: weight decay on the parameters with ≥ 2 dims (matrices and embeddings,
    the tied head counted once), none on biases and LayerNorm weights."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return decay, no_decay


def make_optimizer(lib, model, cfg):
    """lib's AdamW over ``param_groups(model)`` with cfg's lr, betas and weight decay."""
    decay, no_decay = param_groups(model)
    return lib.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def lr_schedule(lib, optimizer, cfg):
    """Linear warm-up to cfg.lr over warmup_iters (lr·(it + 1)/(warmup_iters + 1)), then cosine
    decay to min_lr at max_iters: a ``tools.schedules.warmup_cosine`` scheduler for lib."""
    return warmup_cosine(lib, optimizer, warmup_steps=cfg.warmup_iters,
                         total_steps=cfg.max_iters, min_lr=cfg.min_lr,
                         warmup_divisor=cfg.warmup_iters + 1)


# ============================================================================ data
def default_data_dir():
    """../shared/data/tinyshakespeare next to the checkout, else layerwise's cache (None)."""
    cand = ROOT.parent / "shared" / "data" / "tinyshakespeare"
    return str(cand) if (cand / "input.txt").is_file() else None


def load_data(folder=None):
    """(train ids, val ids, tokenizer): TinyShakespeare's 90 % / 10 % split as int64 arrays."""
    from layerwise.data.text import TinyShakespeare
    folder = folder if folder is not None else default_data_dir()
    train = TinyShakespeare(folder, split="train")
    val = TinyShakespeare(folder, split="val", tokenizer=train.tokenizer)
    return train.data.numpy(), val.data.numpy(), train.tokenizer


def get_batch(data, rng, batch_size, block_size):
    """batch_size random windows of block_size + 1 tokens from ``data`` (starts drawn by the
    NumPy Generator ``rng``): inputs x and next-token targets y, int64 arrays (B, T)."""
    starts = rng.integers(0, len(data) - block_size, size=batch_size)
    w = data[starts[:, None] + np.arange(block_size + 1)]
    return np.ascontiguousarray(w[:, :-1]), np.ascontiguousarray(w[:, 1:])


def eval_set(val, cfg):
    """The fixed validation set: cfg.eval_batches batches from a generator seeded eval_seed."""
    rng = np.random.default_rng(cfg.eval_seed)
    return [get_batch(val, rng, cfg.batch_size, cfg.block_size) for _ in range(cfg.eval_batches)]


def evaluate(lib, model, batches):
    """Mean cross-entropy over ``batches`` (eval mode, no grad); the model's mode is restored."""
    was = model.training
    model.eval()
    total = 0.0
    with lib.no_grad():
        for x, y in batches:
            _, loss = model(lib.from_numpy(x), lib.from_numpy(y))
            total += float(loss.item())
    model.train(was)
    return total / len(batches)


# ============================================================================ training
@dataclasses.dataclass
class RunState:
    """Where a training run stands: what ``train_loop`` needs to go on from iteration ``step``
    exactly as if it had never stopped (the model's weights aside)."""
    optimizer: object              # the optimizer (its moments and step counts)
    scheduler: object              # the learning-rate schedule (lr_schedule)
    batch_rng: np.random.Generator  # draws the training windows
    step: int = 0                  # iterations done
    losses: list = dataclasses.field(default_factory=list)       # training loss per iteration
    val_curve: list = dataclasses.field(default_factory=list)    # (iteration, validation loss)


def new_run(lib, model, cfg):
    """A RunState at iteration 0: the optimizer, its schedule, batches drawn from cfg.seed."""
    opt = make_optimizer(lib, model, cfg)
    return RunState(opt, lr_schedule(lib, opt, cfg), np.random.default_rng(cfg.seed))


class _Clock:
    """Wall and CPU time of a run, with the evaluations' share kept apart (CPU time is this
    process's, which time-sharing on a busy machine does not inflate)."""

    def __init__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        self.eval_wall = self.eval_cpu = 0.0

    def timed_eval(self, fn, *args):
        w, c = time.perf_counter(), time.process_time()
        value = fn(*args)
        self.eval_wall += time.perf_counter() - w
        self.eval_cpu += time.process_time() - c
        return value

    def train_wall(self):
        return time.perf_counter() - self.wall0 - self.eval_wall

    def train_cpu(self):
        return time.process_time() - self.cpu0 - self.eval_cpu


def train_loop(lib, model, cfg, train_data, val_batches, iters=None, log=print, on_step=None,
               state=None, on_checkpoint=None):
    """Train ``model`` (either library) up to iteration ``iters`` (default cfg.max_iters) on
    the batches drawn from cfg.seed, with ``tools.trainer.train_steps``; returns a dict with
    the per-step losses, the final validation loss, and the wall and CPU times of training and
    evaluation (separately).

    ``state`` (a RunState) continues a run from its ``step``; by default a new one starts.
    ``on_step(it, loss)`` is called after each iteration ``it`` (from 0), and
    ``on_checkpoint(state)`` every cfg.checkpoint_interval iterations."""
    iters = cfg.max_iters if iters is None else iters
    state = state if state is not None else new_run(lib, model, cfg)
    clock, first = _Clock(), state.step
    batches = (get_batch(train_data, state.batch_rng, cfg.batch_size, cfg.block_size)
               for _ in itertools.count())

    def loss(model, batch):
        logits, value = model(lib.from_numpy(batch[0]), lib.from_numpy(batch[1]))
        return value, logits

    def after_step(step, value, batch, output):
        state.losses.append(value)
        state.step = step
        if on_step is not None:
            on_step(step - 1, value)
        _report(lib, model, cfg, state, step, iters, first, clock, val_batches, log)
        if on_checkpoint is not None and cfg.checkpoint_interval and \
                step % cfg.checkpoint_interval == 0 and step != iters:
            on_checkpoint(state)

    model.train()
    train_steps(model, state.optimizer, batches, loss, steps=iters, start_step=first,
                scheduler=state.scheduler, clip_grad_norm=cfg.grad_clip, on_step=after_step,
                lib=lib)
    t_train, c_train = clock.train_wall(), clock.train_cpu()
    val_loss = clock.timed_eval(evaluate, lib, model, val_batches) if val_batches else float("nan")
    state.val_curve.append((iters, val_loss))
    log(f"val loss {val_loss:.4f} after {iters} iterations (training {t_train:.1f} s wall, "
        f"{c_train:.1f} s CPU; evaluation {clock.eval_wall:.1f} s wall, {clock.eval_cpu:.1f} s CPU)")
    return {"losses": state.losses, "val_loss": val_loss, "val_curve": state.val_curve,
            "train_time": t_train, "eval_time": clock.eval_wall, "train_cpu_time": c_train,
            "eval_cpu_time": clock.eval_cpu, "iters": iters, "state": state}


def _report(lib, model, cfg, state, step, iters, first, clock, val_batches, log):
    """After iteration ``step``: the mean training loss every cfg.log_interval iterations, the
    validation loss every cfg.eval_interval (not at the end: train_loop evaluates then)."""
    last = step == iters
    if cfg.log_interval and (step % cfg.log_interval == 0 or last):
        recent = state.losses[-cfg.log_interval:]
        lr = state.scheduler.lrs_at(step - 1)[0]          # the lr this iteration used
        log(f"iter {step:5d}  loss {sum(recent) / len(recent):.4f}  lr {lr:.2e}  "
            f"{clock.train_wall() / (step - first) * 1e3:.1f} ms/iter")
    if cfg.eval_interval and step % cfg.eval_interval == 0 and not last:
        v = clock.timed_eval(evaluate, lib, model, val_batches)
        state.val_curve.append((step, v))
        log(f"iter {step:5d}  val loss {v:.4f}")


def init_model(cfg):
    """The layerwise GPT with its initial weights drawn from cfg.seed."""
    lw.manual_seed(cfg.seed)
    return build_gpt(lw, cfg)


# What a resumed run may take from the caller's config; everything else (model, optimisation,
# seeds, max_iters, evaluation set) comes from the checkpoint, so the run stays the same run.
_RESUME_OVERRIDABLE = ("data", "out", "log_interval", "eval_interval", "checkpoint_interval")


def train(cfg=None, log=print, data=None, resume=None, on_step=None):
    """Train the layerwise GPT of ``cfg``; save a checkpoint to cfg.out when given (at the
    end, and every cfg.checkpoint_interval iterations).  ``data`` = (train ids, val ids,
    tokenizer) skips loading the text.  ``resume`` = a checkpoint path continues that run to
    its own max_iters, bit for bit as if uninterrupted (only ``_RESUME_OVERRIDABLE`` fields of
    ``cfg`` apply).  Returns the ``train_loop`` result with the model and the tokenizer added."""
    cfg = _config(cfg)
    ck = read_checkpoint(resume) if resume else None
    if ck is not None:
        cfg = dataclasses.replace(GPTConfig.from_dict(ck["config"]),
                                  **{k: getattr(cfg, k) for k in _RESUME_OVERRIDABLE})
    train_data, val_data, tok = data if data is not None else load_data(cfg.data)
    if ck is not None and "".join(tok.chars) != ck.get("vocab"):
        raise CheckpointError(resume, "the checkpoint's vocabulary differs from this text's")
    if tok.vocab_size != cfg.vocab_size:
        cfg = dataclasses.replace(cfg, vocab_size=tok.vocab_size)
    model = init_model(cfg)
    state = None
    if ck is not None:
        state = _restore(ck, model, cfg, resume)
        log(f"resumed from {resume} at iteration {state.step} of {cfg.max_iters}")
    n = sum(p.numel() for p in model.parameters())
    log(f"GPT: {cfg.n_layer} layers, {cfg.n_head} heads, width {cfg.n_embd}, context "
        f"{cfg.block_size}, {n:,} parameters; {cfg.max_iters} iterations of batch {cfg.batch_size}")
    path = Path(cfg.out) / "char_gpt.safetensors" if cfg.out else None

    def checkpoint(st, info=None):
        save_checkpoint(path, model, cfg, tok, info or {"iters": st.step}, state=st)

    result = train_loop(lw, model, cfg, train_data, eval_set(val_data, cfg), log=log,
                        on_step=on_step, state=state, on_checkpoint=checkpoint if path else None)
    if path:
        checkpoint(result["state"], {"val_loss": result["val_loss"], "iters": result["iters"]})
        log(f"wrote {path}")
        result["checkpoint"] = str(path)
    result.update(model=model, tokenizer=tok, config=cfg)
    return result


# ============================================================================ checkpoints and sampling
def save_checkpoint(path, model, cfg, tokenizer, extra=None, state=None):
    """Write the model (with its config and vocabulary) and, given a RunState, the training
    state to ``path`` atomically (``lw.save``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ck = {"format": "layerwise.char_gpt", "config": dataclasses.asdict(cfg),
          "vocab": "".join(tokenizer.chars), "model": model.state_dict(), "info": dict(extra or {})}
    if state is not None:
        ck["training"] = {"step": state.step, "optimizer": state.optimizer.state_dict(),
                          "scheduler": state.scheduler.state_dict(),
                          "batch_rng": state.batch_rng.bit_generator.state,
                          "rng": lw.get_rng_state(), "losses": list(state.losses),
                          "val_curve": [list(p) for p in state.val_curve]}
    lw.save(ck, str(path))
    return path


def read_checkpoint(path):
    """A resumable char-GPT checkpoint, read and checked; ``CheckpointError`` naming the file
    when it is not one (damaged, another model's, no training state, older) or its run has
    finished."""
    ck = lw.load(str(path))
    if not isinstance(ck, dict) or ck.get("format") != "layerwise.char_gpt":
        raise CheckpointError(path, "not a char-gpt checkpoint (written by examples/char_gpt.py "
                              "or 'layerwise train char-gpt')")
    if "training" not in ck:
        raise CheckpointError(path, "the checkpoint holds no training state to resume from")
    if "scheduler" not in ck["training"]:
        raise CheckpointError(path, "the checkpoint holds no learning-rate schedule to resume "
                              "(it was written by an older layerwise)")
    try:
        cfg = GPTConfig.from_dict(ck["config"])
        finished = ck["training"]["step"] >= cfg.max_iters
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(path, f"a damaged char-gpt checkpoint: {e}") from None
    if finished:
        raise CheckpointError(path, f"that run already finished its {cfg.max_iters} iterations")
    return ck


def _restore(ck, model, cfg, path):
    """Load a checkpoint's weights into ``model``; its training state as a RunState."""
    try:
        tr = ck["training"]
        model.load_state_dict(ck["model"])
        state = new_run(lw, model, cfg)
        state.optimizer.load_state_dict(tr["optimizer"])        # after the scheduler set its lr
        state.scheduler.load_state_dict(tr["scheduler"])
        state.batch_rng.bit_generator.state = tr["batch_rng"]
        lw.set_rng_state(tr["rng"])
        state.step, state.losses = tr["step"], list(tr["losses"])
        state.val_curve = [tuple(p) for p in tr["val_curve"]]
    except _errors.UNFIT as e:                         # weights that do not fit
        raise _errors.unfit(path, "cannot resume from it", e) from e
    return state



def load_checkpoint(path):
    """(model in eval mode, tokenizer, config, info) from a checkpoint written by ``train``."""
    from layerwise.data.text import CharTokenizer
    ck = lw.load(str(path))
    if not isinstance(ck, dict) or ck.get("format") != "layerwise.char_gpt":
        raise CheckpointError(path, "not a char-gpt checkpoint (written by examples/char_gpt.py "
                              "or 'layerwise train char-gpt')")
    try:
        cfg = GPTConfig.from_dict(ck["config"])
        model = build_gpt(lw, cfg)
        model.load_state_dict(ck["model"])
        tokenizer = CharTokenizer(list(ck["vocab"]))
    except _errors.UNFIT as e:
        raise _errors.unfit(path, "a damaged char-gpt checkpoint", e) from e
    model.eval()
    return model, tokenizer, cfg, ck.get("info", {})


def generate(model, tokenizer, prompt="\n", length=200, temperature=0.8, top_k=None, seed=0):
    """Sample ``length`` characters after ``prompt``: each step feeds the last block_size
    tokens, divides the last logits by ``temperature``, keeps the ``top_k`` likeliest (when
    given) and samples from the softmax with a NumPy generator seeded ``seed``."""
    if not temperature > 0 or math.isinf(temperature):
        raise ValueError(f"generate: temperature must be a finite number > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"generate: top_k must be >= 1 or None, got {top_k}")
    if length < 0:
        raise ValueError(f"generate: length must be >= 0, got {length}")
    cfg = model.config
    rng = np.random.default_rng(seed)
    ids = list(tokenizer.encode(prompt)) if prompt else [0]
    was = model.training
    model.eval()
    with lw.no_grad():
        for _ in range(length):
            ctx = np.asarray(ids[-cfg.block_size:], np.int64)[None]
            logits = model(lw.from_numpy(ctx)).numpy()[0, -1].astype(np.float64) / temperature
            if top_k is not None and top_k < logits.size:
                kth = np.partition(logits, -top_k)[-top_k]
                logits[logits < kth] = -np.inf
            p = np.exp(logits - logits.max())
            p /= p.sum()
            ids.append(int(rng.choice(p.size, p=p)))
    model.train(was)
    return tokenizer.decode(np.asarray(ids[len(tokenizer.encode(prompt)) if prompt else 1:]))
