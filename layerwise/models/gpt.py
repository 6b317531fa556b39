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

import argparse
import dataclasses
import math
import time
from pathlib import Path

import numpy as np

import layerwise as lw

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
    nn, F = lib.nn, lib.nn.functional
    if cfg.n_embd % cfg.n_head:
        raise ValueError(f"build_gpt: n_embd {cfg.n_embd} must be divisible by n_head {cfg.n_head}")
    if cfg.attention not in ("sdpa", "mha"):
        raise ValueError(f"build_gpt: attention must be 'sdpa' or 'mha', got {cfg.attention!r}")

    class CausalSelfAttention(nn.Module):
        def __init__(self):
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

    class MHASelfAttention(nn.Module):
        """The same attention through nn.MultiheadAttention (parameters attn.in_proj_weight,
        attn.out_proj.weight instead of c_attn / c_proj)."""

        def __init__(self):
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

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
            self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
            self.dropout = nn.Dropout(cfg.dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.attn = CausalSelfAttention() if cfg.attention == "sdpa" else MHASelfAttention()
            self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.config = cfg
            self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
            self.drop = nn.Dropout(cfg.dropout)
            self.h = nn.ModuleList([Block() for _ in range(cfg.n_layer)])
            self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight                       # weight tying
            self.register_buffer("pos", lib.arange(cfg.block_size), persistent=False)
            std = 0.02
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    nn.init.zeros_(p)
                elif name.startswith("ln") or ".ln_" in name:
                    nn.init.ones_(p)
                elif name.endswith("c_proj.weight") or name.endswith("out_proj.weight"):
                    nn.init.normal_(p, mean=0.0, std=std / math.sqrt(2 * cfg.n_layer))
                else:
                    nn.init.normal_(p, mean=0.0, std=std)

        def forward(self, idx, targets=None):
            B, T = idx.shape
            if T > cfg.block_size:
                raise ValueError(f"GPT: sequence of length {T} is longer than the context "
                                 f"block_size={cfg.block_size}")
            x = self.drop(self.wte(idx) + self.wpe(self.pos[:T]))
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            if targets is None:
                return logits
            loss = F.cross_entropy(logits.view(B * T, cfg.vocab_size), targets.view(B * T))
            return logits, loss

    return GPT()


def param_groups(model):
    """AdamW groups: weight decay on the parameters with ≥ 2 dims (matrices and embeddings,
    the tied head counted once), none on biases and LayerNorm weights."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return decay, no_decay


def make_optimizer(lib, model, cfg):
    decay, no_decay = param_groups(model)
    return lib.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def lr_at(it, cfg):
    """Linear warm-up to cfg.lr over warmup_iters, then cosine decay to min_lr at max_iters."""
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / (cfg.warmup_iters + 1)
    if it >= cfg.max_iters:
        return cfg.min_lr
    ratio = (it - cfg.warmup_iters) / max(1, cfg.max_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (cfg.lr - cfg.min_lr)


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
    batch_rng: np.random.Generator  # draws the training windows
    step: int = 0                  # iterations done
    losses: list = dataclasses.field(default_factory=list)       # training loss per iteration
    val_curve: list = dataclasses.field(default_factory=list)    # (iteration, validation loss)


def train_loop(lib, model, cfg, train_data, val_batches, iters=None, log=print, on_step=None,
               state=None, on_checkpoint=None):
    """Train ``model`` (either library) up to iteration ``iters`` (default cfg.max_iters) on
    the batches drawn from cfg.seed; returns a dict with the per-step losses, the final
    validation loss, and the wall and CPU times of training and evaluation (separately; CPU
    time is this process's, which time-sharing on a busy machine does not inflate).

    ``state`` (a RunState) continues a run from its ``step``; by default a new one starts.
    ``on_checkpoint(state)`` is called every cfg.checkpoint_interval iterations."""
    iters = cfg.max_iters if iters is None else iters
    if state is None:
        state = RunState(make_optimizer(lib, model, cfg), np.random.default_rng(cfg.seed))
    opt, rng, losses, curve = state.optimizer, state.batch_rng, state.losses, state.val_curve
    params = [p for p in model.parameters()]
    clip = lib.nn.utils.clip_grad_norm_
    model.train()
    t_eval = c_eval = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    first = state.step
    for it in range(first, iters):
        lr = lr_at(it, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = get_batch(train_data, rng, cfg.batch_size, cfg.block_size)
        _, loss = model(lib.from_numpy(x), lib.from_numpy(y))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            clip(params, cfg.grad_clip)
        opt.step()
        value = float(loss.item())
        losses.append(value)
        state.step = it + 1
        if on_step is not None:
            on_step(it, value)
        if not math.isfinite(value):
            raise FloatingPointError(f"the training loss became {value} at iteration {it}")
        last = it + 1 == iters
        if cfg.log_interval and ((it + 1) % cfg.log_interval == 0 or last):
            recent = losses[-cfg.log_interval:]
            log(f"iter {it + 1:5d}  loss {sum(recent) / len(recent):.4f}  lr {lr:.2e}  "
                f"{(time.perf_counter() - t0 - t_eval) / (it + 1 - first) * 1e3:.1f} ms/iter")
        if cfg.eval_interval and (it + 1) % cfg.eval_interval == 0 and not last:
            te, ce = time.perf_counter(), time.process_time()
            v = evaluate(lib, model, val_batches)
            t_eval += time.perf_counter() - te
            c_eval += time.process_time() - ce
            curve.append((it + 1, v))
            log(f"iter {it + 1:5d}  val loss {v:.4f}")
        if on_checkpoint is not None and cfg.checkpoint_interval and \
                (it + 1) % cfg.checkpoint_interval == 0 and not last:
            on_checkpoint(state)
    t_train = time.perf_counter() - t0 - t_eval
    c_train = time.process_time() - c0 - c_eval
    te, ce = time.perf_counter(), time.process_time()
    val_loss = evaluate(lib, model, val_batches) if val_batches else float("nan")
    t_eval += time.perf_counter() - te
    c_eval += time.process_time() - ce
    curve.append((iters, val_loss))
    log(f"val loss {val_loss:.4f} after {iters} iterations (training {t_train:.1f} s wall, "
        f"{c_train:.1f} s CPU; evaluation {t_eval:.1f} s wall, {c_eval:.1f} s CPU)")
    return {"losses": losses, "val_loss": val_loss, "val_curve": curve, "train_time": t_train,
            "eval_time": t_eval, "train_cpu_time": c_train, "eval_cpu_time": c_eval,
            "iters": iters, "state": state}


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
    ck = _load_resumable(resume) if resume else None
    if ck is not None:
        cfg = dataclasses.replace(GPTConfig.from_dict(ck["config"]),
                                  **{k: getattr(cfg, k) for k in _RESUME_OVERRIDABLE})
    train_data, val_data, tok = data if data is not None else load_data(cfg.data)
    if ck is not None and "".join(tok.chars) != ck["vocab"]:
        raise ValueError(f"{resume}: the checkpoint's vocabulary differs from this text's")
    if tok.vocab_size != cfg.vocab_size:
        cfg = dataclasses.replace(cfg, vocab_size=tok.vocab_size)
    model = init_model(cfg)
    state = None
    if ck is not None:
        state = _restore(ck, model, cfg)
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
                          "batch_rng": state.batch_rng.bit_generator.state,
                          "rng": lw.get_rng_state(), "losses": list(state.losses),
                          "val_curve": [list(p) for p in state.val_curve]}
    lw.save(ck, str(path))
    return path


def _load_resumable(path):
    ck = lw.load(str(path))
    if not isinstance(ck, dict) or ck.get("format") != "layerwise.char_gpt":
        raise ValueError(f"{path}: not a char-gpt checkpoint (written by examples/char_gpt.py)")
    if "training" not in ck:
        raise ValueError(f"{path}: the checkpoint holds no training state to resume from")
    cfg = GPTConfig.from_dict(ck["config"])
    if ck["training"]["step"] >= cfg.max_iters:
        raise ValueError(f"{path}: that run already finished its {cfg.max_iters} iterations")
    return ck


def _restore(ck, model, cfg):
    """Load a checkpoint's weights into ``model``; its training state as a RunState."""
    tr = ck["training"]
    model.load_state_dict(ck["model"])
    opt = make_optimizer(lw, model, cfg)
    opt.load_state_dict(tr["optimizer"])
    rng = np.random.default_rng(cfg.seed)
    rng.bit_generator.state = tr["batch_rng"]
    lw.set_rng_state(tr["rng"])
    return RunState(opt, rng, tr["step"], list(tr["losses"]),
                    [tuple(p) for p in tr["val_curve"]])


def load_checkpoint(path):
    """(model in eval mode, tokenizer, config, info) from a checkpoint written by ``train``."""
    from layerwise.data.text import CharTokenizer
    ck = lw.load(str(path))
    if not isinstance(ck, dict) or ck.get("format") != "layerwise.char_gpt":
        raise ValueError(f"{path}: not a char-gpt checkpoint (written by examples/char_gpt.py)")
    cfg = GPTConfig.from_dict(ck["config"])
    model = build_gpt(lw, cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    return model, CharTokenizer(list(ck["vocab"])), cfg, ck.get("info", {})


def generate(model, tokenizer, prompt="\n", length=200, temperature=0.8, top_k=None, seed=0):
    """Sample ``length`` characters after ``prompt``: each step feeds the last block_size
    tokens, divides the last logits by ``temperature``, keeps the ``top_k`` likeliest (when
    given) and samples from the softmax with a NumPy generator seeded ``seed``."""
    if temperature <= 0:
        raise ValueError(f"generate: temperature must be > 0, got {temperature}")
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


# ============================================================================ command line
def main(argv=None, log=print):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iters", type=int, default=GPTConfig.max_iters, help="training iterations (default 2000)")
    p.add_argument("--eval-batches", type=int, default=GPTConfig.eval_batches,
                   help="validation batches (default 200)")
    p.add_argument("--eval-interval", type=int, default=0, help="also evaluate every N iterations")
    p.add_argument("--seed", type=int, default=GPTConfig.seed, help="initial weights and batch order")
    p.add_argument("--data", default=None, help="folder holding input.txt (default "
                   "../shared/data/tinyshakespeare next to the checkout, or layerwise's cache)")
    p.add_argument("--out", default="runs/char-gpt", help="checkpoint folder (default runs/char-gpt)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="also save the checkpoint every N iterations (default: only at the end)")
    p.add_argument("--resume", metavar="CHECKPOINT", default=None,
                   help="continue the run saved in CHECKPOINT to its end")
    p.add_argument("--attention", choices=("sdpa", "mha"), default="sdpa")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--generate", metavar="CHECKPOINT", default=None,
                   help="sample from a checkpoint instead of training")
    p.add_argument("--prompt", default="\n")
    p.add_argument("--length", type=int, default=500)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=None)
    a = p.parse_args(argv)
    lw.set_num_threads(a.threads)
    if a.generate:
        model, tok, _, _ = load_checkpoint(a.generate)
        text = generate(model, tok, a.prompt, a.length, a.temperature, a.top_k, a.seed)
        log(a.prompt + text)
        return text
    cfg = GPTConfig(max_iters=a.iters, eval_batches=a.eval_batches, eval_interval=a.eval_interval,
                    seed=a.seed, data=a.data, out=a.out, attention=a.attention,
                    checkpoint_interval=a.checkpoint_every)
    result = train(cfg, log=log, resume=a.resume)
    sample = generate(result["model"], result["tokenizer"], "\n", 300, 0.8, 20,
                      seed=result["config"].seed)
    log("sample:\n" + sample)
    return result


if __name__ == "__main__":
    main()
