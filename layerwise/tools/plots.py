"""Seeing inside a model: training curves, kernels, feature maps, attention, gradient flow.

Every ``plot_*`` function returns a matplotlib ``Figure`` (and saves it to ``path`` when given:
the format follows the suffix, .png, .pdf or .svg).  The figures are built without pyplot, so
they leave no global state behind and work on any backend (a notebook shows the returned
figure).  matplotlib is an optional extra: ``pip install 'layerwise[plot]'``; the functions that
only collect numbers — ``feature_maps``, ``GradientFlowRecorder``, ``vanishing_gradient_demo`` —
work without it.

    from layerwise.tools import plots
    plots.plot_training_curves(history, "curves.png")          # history from tools.trainer.fit
    plots.plot_kernels(model[0], "kernels.png")                # a Conv2d's learned filters
    plots.plot_feature_maps(model, x[:1], "maps.png")          # what each conv layer responds to
    rec = plots.GradientFlowRecorder(model)                    # per-layer ‖grad‖ every backward
    ...train...
    plots.plot_gradient_flow(rec, "grads.png")
    plots.plot_hidden_grad_norms(plots.vanishing_gradient_demo(), "bptt.png")   # RNN vs LSTM
"""
from __future__ import annotations

import math
import os
from collections import OrderedDict

import numpy as np

__all__ = ["plot_training_curves", "plot_kernels", "kernel_grid", "feature_maps",
           "plot_feature_maps", "plot_attention", "GradientFlowRecorder", "plot_gradient_flow",
           "plot_hidden_grad_norms", "vanishing_gradient_demo", "save_demo_plots"]

_INSTALL_HINT = "pip install 'layerwise[plot]'"


def _figure(figsize, layout="constrained"):
    """A pyplot-free Figure, constrained layout by default (matplotlib imported on first use)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"layerwise.tools.plots needs matplotlib to draw: {_INSTALL_HINT}") from e
    return Figure(figsize=figsize, layout=layout)


def _save(fig, path, dpi=110):
    if path is not None:
        folder = os.path.dirname(os.fspath(path))
        if folder:
            os.makedirs(folder, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    return fig


def _array(x):
    """A NumPy array from a layerwise Tensor (no graph), an array or a list."""
    data = getattr(x, "data", None)
    if isinstance(data, np.ndarray):
        return data
    return np.asarray(x)


def _tick_positions(n, size, gap, max_ticks=16):
    """Centres of ``n`` tiles of ``size`` pixels separated by ``gap``, thinned to ≤ max_ticks."""
    step = max(1, math.ceil(n / max_ticks))
    idx = np.arange(0, n, step)
    return idx, idx * (size + gap) + (size - 1) / 2


def _mosaic(tiles, ncols, gap=1):
    """Place (n, h, w) tiles on a grid ``ncols`` wide, separated by NaN gaps (drawn blank)."""
    n, h, w = tiles.shape
    nrows = max(1, math.ceil(n / ncols))
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for k in range(n):
        r, c = divmod(k, ncols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tiles[k]
    return out


def _cmap(name, gap="white"):
    """A copy of colormap ``name`` that draws NaN (the gaps between tiles) in ``gap``."""
    from matplotlib import colormaps
    return colormaps[name].with_extremes(bad=gap)


# ---------------------------------------------------------------------------- training curves
def plot_training_curves(history, path=None, title="Training curves"):
    """Loss and accuracy per epoch, train against test.

    ``history``: the dict ``layerwise.tools.trainer.fit`` returns (keys ``epoch``,
    ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``), or the columns of a metrics log
    (``read_metrics(path, columns=True)``).  Accuracy is drawn in percent.  A test curve that
    sits above the train loss and climbs while the train loss keeps falling is overfitting.
    """
    def series(key):
        v = history.get(key)
        return None if not v else np.asarray([np.nan if a is None else a for a in v], float)

    loss_keys = [k for k in ("train_loss", "test_loss") if series(k) is not None]
    acc_keys = [k for k in ("train_acc", "test_acc") if series(k) is not None]
    if not loss_keys and not acc_keys:
        raise ValueError("plot_training_curves: history has none of train_loss, test_loss, "
                         "train_acc, test_acc")
    n = len(series((loss_keys + acc_keys)[0]))
    epochs = np.asarray(history.get("epoch") or range(1, n + 1), float)
    panels = [(loss_keys, "loss", "Loss", 1.0), (acc_keys, "accuracy (%)", "Accuracy", 100.0)]
    panels = [p for p in panels if p[0]]
    fig = _figure((5.2 * len(panels), 3.8))
    from matplotlib.ticker import MaxNLocator
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    styles = {"train": dict(marker="o", ms=3), "test": dict(marker="s", ms=3, ls="--")}
    for ax, (keys, ylabel, name, scale) in zip(axes, panels):
        for key in keys:
            split = key.split("_")[0]
            y = series(key) * scale
            ax.plot(epochs[:len(y)], y, label=split, **styles[split])
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


# ---------------------------------------------------------------------------- kernels
def _weights_of(layer):
    w = getattr(layer, "weight", layer)
    w = _array(w).astype(np.float64)
    if getattr(layer, "transposed", False):
        raise ValueError("plot_kernels: transposed convolutions keep (in, out, ...) weights; "
                         "pass layer.weight.transpose(0, 1) if you mean it")
    if w.ndim == 3:                         # Conv1d: (out, in, k) → rows of 1 × k
        w = w[:, :, None, :]
    if w.ndim != 4:
        raise ValueError(f"plot_kernels: expected a conv layer or a (out, in, kH, kW) weight, "
                         f"got shape {w.shape}")
    return w


def kernel_grid(layer, mean_over_inputs=False, zoom=1, gap=1):
    """The 2-D mosaic ``plot_kernels`` draws, and its number of tile columns.

    One input channel (or ``mean_over_inputs``): the out_channels kernels on a near-square grid,
    kernel k at row k // ncols, column k % ncols.  Otherwise one row per output channel, one
    column per input channel: tile (o, i) is ``weight[o, i]``.  Each weight becomes a
    ``zoom`` × ``zoom`` block of pixels; the ``gap`` pixels between tiles are NaN.
    """
    w = _weights_of(layer)
    out_c, in_c, kh, kw = w.shape
    if in_c == 1 or mean_over_inputs:
        tiles = w.mean(axis=1)
        ncols = math.ceil(math.sqrt(out_c))
    else:
        tiles = w.reshape(out_c * in_c, kh, kw)
        ncols = in_c
    tiles = np.repeat(np.repeat(tiles, zoom, axis=1), zoom, axis=2)
    return _mosaic(tiles, ncols, gap), ncols


def plot_kernels(conv_layer, path=None, mean_over_inputs=False, title=None, cmap="RdBu_r"):
    """The learned kernels of a convolution as a grid of small images on one colour scale.

    ``conv_layer``: a Conv2d (or Conv1d) or its weight.  With one input channel the filters are
    laid out on a near-square grid, numbered; otherwise rows are output channels (filters) and
    columns input channels.  ``mean_over_inputs=True`` shows one image per filter (the mean over
    its input channels).  The colour scale is symmetric around zero (red positive, blue
    negative) and shared by all tiles, so strong and weak filters can be compared.  The layout
    is in ``fig.kernel_layout`` (ncols, zoom, gap, kernel size).
    """
    w = _weights_of(conv_layer)
    out_c, in_c, kh, kw = w.shape
    zoom = max(1, round(9 / max(kh, kw)))           # thin gaps: 1 pixel against ~9 per tile
    grid, ncols = kernel_grid(w, mean_over_inputs, zoom=zoom)
    per_filter = in_c == 1 or mean_over_inputs
    nrows = math.ceil(out_c / ncols) if per_filter else out_c
    th, tw = kh * zoom + 1, kw * zoom + 1           # tile pitch in pixels
    inch = 0.75 if per_filter else 0.28             # inches per tile column
    inch = min(inch, 9.0 / ncols, 10.0 / nrows * tw / th)
    fig = _figure((max(3.2, ncols * inch) + 2.3, max(2.6, nrows * inch * th / tw) + 1.0))
    ax = fig.add_subplot()
    vmax = float(np.nanmax(np.abs(grid))) or 1.0
    # grey gaps: white is the colour of a zero weight on the diverging scale
    im = ax.imshow(grid, cmap=_cmap(cmap, gap="0.45"), vmin=-vmax, vmax=vmax,
                   interpolation="nearest")
    name = type(conv_layer).__name__ if hasattr(conv_layer, "weight") else "weight"
    if per_filter:
        for k in range(out_c):
            r, c = divmod(k, ncols)
            ax.text(c * tw - 0.3, r * th - 0.3, str(k), fontsize=7, va="top", ha="left",
                    bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.7))
        ax.set_xticks([])
        ax.set_yticks([])
        what = "mean over input channels" if in_c > 1 else "1 input channel"
        ax.set_xlabel("filter k = output channel k (numbered in its corner)")
        ax.set_ylabel(f"filters, {ncols} per row")
        default = f"{name} kernels: {out_c} filters of {kh}×{kw} ({what})"
    else:
        idx, pos = _tick_positions(in_c, kw * zoom, 1)
        ax.set_xticks(pos, [str(i) for i in idx])
        idx, pos = _tick_positions(out_c, kh * zoom, 1)
        ax.set_yticks(pos, [str(i) for i in idx])
        ax.set_xlabel("input channel")
        ax.set_ylabel("output channel (filter)")
        default = f"{name} kernels: {out_c} filters × {in_c} input channels, {kh}×{kw}"
    ax.set_title(title or default, fontsize=10)
    fig.colorbar(im, ax=ax, label="weight", shrink=0.8)
    fig.kernel_layout = dict(ncols=ncols, zoom=zoom, gap=1, kernel_size=(kh, kw))
    return _save(fig, path)


# ---------------------------------------------------------------------------- feature maps
def _default_types():
    from ..nn.conv import Conv2d
    return (Conv2d,)


def feature_maps(model, x, types=None):
    """Run ``model`` on ``x`` and return ``{layer name: output array}`` for each layer of the
    given ``types`` (default: every Conv2d), in call order.

    Forward hooks catch the outputs; the model runs in eval mode without a graph and is put
    back in its previous mode.  ``x``: a Tensor or array, batched (N, C, H, W) or one (C, H, W)
    image.  Pass ``types=(Conv2d, ReLU, MaxPool2d)`` to see activations and pooling too.  A layer
    called twice appears twice, the second time as ``'name#2'``.
    """
    from ..autograd import grad_mode
    from ..tensor import Tensor

    types = tuple(types) if types is not None else _default_types()
    if not isinstance(x, Tensor):
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        x = Tensor._wrap(np.ascontiguousarray(x))
    if x.ndim == 3:
        x = x.unsqueeze(0)
    outputs, handles, calls = OrderedDict(), [], {}

    def hook_for(name):
        def hook(module, args, out):
            calls[name] = calls.get(name, 0) + 1
            key = name if calls[name] == 1 else f"{name}#{calls[name]}"
            value = out[0] if isinstance(out, (tuple, list)) else out
            outputs[key] = np.array(_array(value))
        return hook

    for name, m in model.named_modules():
        if isinstance(m, types):
            handles.append(m.register_forward_hook(hook_for(name or type(m).__name__)))
    if not handles:
        raise ValueError(f"feature_maps: {type(model).__name__} has no layer of type "
                         f"{', '.join(t.__name__ for t in types)}")
    was_training = model.training
    try:
        model.eval()
        with grad_mode.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return outputs


def plot_feature_maps(model, x, path=None, max_channels=16, types=None, show_input=True,
                      cmap="viridis"):
    """For one input, the feature maps of each conv layer: one row per layer, one tile per
    channel (the first ``max_channels``), each row on its own colour scale with a colorbar.

    The first row (``show_input``) is the input itself.  Bright tiles are where a filter
    responds strongly; all-dark tiles after a ReLU are filters this input does not excite
    (and, for every input, dead filters).  Returns the Figure; the arrays are in
    ``fig.feature_maps`` ({layer name: (C, H, W)} for the input shown).
    """
    from ..tensor import Tensor

    arr = _array(x)
    if arr.ndim == 3:
        arr = arr[None]
    arr = arr[:1]                                   # one input
    maps = feature_maps(model, Tensor._wrap(np.ascontiguousarray(arr)), types)
    rows = [("input", "", arr[0])] if show_input else []
    kinds = {n: type(m).__name__ for n, m in model.named_modules()}
    rows += [(name, kinds.get(name.split("#")[0], ""), m[0]) for name, m in maps.items()]
    rows = [(name, kind, fmap[:, None, None] if fmap.ndim == 1          # (C,): one pixel each
             else fmap[:, None, :] if fmap.ndim == 2 else fmap)         # (C, L): a 1-D conv
            for name, kind, fmap in rows]
    # Manual layout, in inches: every tile is drawn the same size whatever its resolution, with
    # the same gap; rows are left-aligned, each row's colorbar just right of its last tile.
    # Inside a row, data coordinates count tiles: channel k spans x in [k (1 + gap), … + 1].
    gap = 0.12
    most = max(min(f.shape[0], max_channels) for _, _, f in rows)
    tile = min(1.0, 9.0 / (most * (1 + gap)))
    left, right, top, bottom, between = 1.25, 0.9, 0.65, 0.5, 0.62   # top: suptitle + title
    sizes = [(min(f.shape[0], max_channels) * (1 + gap) - gap, f.shape[1] / f.shape[2])
             for _, _, f in rows]
    width = left + tile * max(wd for wd, _ in sizes) + right
    height = top + bottom + sum(tile * ht + between for _, ht in sizes) - between
    fig = _figure((width, height), layout=None)
    from matplotlib.colors import Normalize
    y = height - top
    for i, ((name, kind, fmap), (wd, ht)) in enumerate(zip(rows, sizes)):
        y -= (between if i else 0.0) + tile * ht
        c, h, w = fmap.shape
        shown = min(c, max_channels)
        ax = fig.add_axes([left / width, y / height, tile * wd / width, tile * ht / height])
        norm = Normalize(float(fmap[:shown].min()), float(fmap[:shown].max()))
        for k in range(shown):
            x0 = k * (1 + gap)
            im = ax.imshow(fmap[k], cmap=cmap, norm=norm, interpolation="nearest",
                           extent=(x0, x0 + 1, ht, 0), aspect="auto")
        ax.set_xlim(0, wd)
        ax.set_ylim(ht, 0)
        for side in ax.spines.values():
            side.set_visible(False)
        step = max(1, math.ceil(shown / 32))
        ax.set_xticks(np.arange(0, shown, step) * (1 + gap) + 0.5,
                      [str(k) for k in range(0, shown, step)], fontsize=7)
        ax.tick_params(axis="x", length=0)
        ax.set_yticks([])
        ax.set_xlabel("channel", fontsize=8, labelpad=1)
        label = name if name == "input" else f"{name}\n{kind}"
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        more = f", first {shown} of {c} channels" if shown < c else f", {c} channel" + "s" * (c > 1)
        ax.set_title(f"{name if name == 'input' else name + ': ' + kind} → ({c}, {h}, {w}){more}",
                     fontsize=9, loc="left")
        cax = fig.add_axes([(left + tile * wd + 0.1) / width, y / height, 0.12 / width,
                            max(tile * ht, 0.5) / height])
        fig.colorbar(im, cax=cax).ax.tick_params(labelsize=7)
    fig.suptitle("Feature maps (one row per layer)", y=1 - 0.08 / height, va="top")
    fig.feature_maps = OrderedDict((name, fmap) for name, _, fmap in rows)
    return _save(fig, path)


# ---------------------------------------------------------------------------- attention
def plot_attention(weights, path=None, tokens=None, key_tokens=None, title="Attention weights",
                   cmap="viridis"):
    """Attention maps: one tile per head, one row per layer.

    ``weights``: one sample's weights, (L, S) (one head, or heads averaged — what
    ``MultiheadAttention`` returns by default, after indexing the batch), (heads, L, S)
    (``average_attn_weights=False``), (layers, heads, L, S), or a list of per-layer arrays.
    Row i of a tile is query position i's distribution over the S key positions (it sums to 1).
    ``tokens`` label the query axis and, unless ``key_tokens`` is given, the key axis too.
    All tiles share one colour scale from 0 to the largest weight.
    """
    layers = weights if isinstance(weights, (list, tuple)) else [weights]
    layers = [_array(w).astype(np.float64) for w in layers]
    if len(layers) == 1 and layers[0].ndim == 4:
        layers = list(layers[0])
    layers = [w[None] if w.ndim == 2 else w for w in layers]
    for w in layers:
        if w.ndim != 3:
            raise ValueError("plot_attention: expected (L, S), (heads, L, S), (layers, heads, L, S) "
                             f"or a list of them (one sample, no batch axis), got shape {w.shape}")
    n_layers, n_heads = len(layers), max(w.shape[0] for w in layers)
    L, S = layers[0].shape[1:]
    key_tokens = key_tokens if key_tokens is not None else tokens
    for what, tok, n in (("tokens", tokens, L), ("key_tokens", key_tokens, S)):
        if tok is not None and len(tok) != n:
            raise ValueError(f"plot_attention: {len(tok)} {what} for an axis of length {n}")
    cell = min(3.2, max(1.8, 0.22 * max(L, S)))
    fig = _figure((cell * n_heads + 1.2, cell * n_layers + 0.6))
    axes = fig.subplots(n_layers, n_heads, squeeze=False)
    vmax = max(float(w.max()) for w in layers) or 1.0
    im = None
    for li, w in enumerate(layers):
        for h in range(n_heads):
            ax = axes[li, h]
            if h >= w.shape[0]:
                ax.set_visible(False)
                continue
            im = ax.imshow(w[h], cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
            head = "mean of heads" if w.shape[0] == 1 and n_heads == 1 else f"head {h}"
            ax.set_title(f"layer {li}, {head}" if n_layers > 1 else head, fontsize=9)
            if key_tokens is not None:
                ax.set_xticks(range(S), [str(t) for t in key_tokens], rotation=90, fontsize=7)
            if tokens is not None:
                ax.set_yticks(range(L), [str(t) for t in tokens], fontsize=7)
            if li == n_layers - 1 or h >= layers[li + 1].shape[0]:
                ax.set_xlabel("key (attended to)", fontsize=8)
            if h == 0:
                ax.set_ylabel("query", fontsize=8)
    fig.colorbar(im, ax=axes.ravel().tolist(), label="attention weight", shrink=0.8)
    fig.suptitle(title)
    return _save(fig, path)


# ---------------------------------------------------------------------------- gradient flow
class GradientFlowRecorder:
    """Per-layer gradient norms, recorded at every backward pass through ``model``.

    ``by='parameter'`` (default): ‖∂L/∂p‖ for each named parameter (``'0.weight'``, ...);
    ``by='module'``: one norm per layer over all its own parameters (weight and bias together);
    ``by='activation'``: ‖∂L/∂output‖ of every leaf layer (full backward hooks) — the gradient
    flowing *through* the network rather than into the weights.

    Gradients are caught by hooks as backward computes them (before any clipping or optimizer
    step).  One backward makes one record, closed when the model's next forward starts or when
    you read ``norms``/``history`` (or call ``record()``).  A parameter that got no gradient in
    a step records NaN.

        rec = GradientFlowRecorder(model)
        history = fit(model, loader, opt, epochs=3)        # or your own loop
        rec.norms          # {'0.weight': array of one norm per step, ...}
        rec.remove()       # take the hooks off (or use ``with GradientFlowRecorder(model) as rec``)
    """

    def __init__(self, model, by="parameter"):
        if by not in ("parameter", "module", "activation"):
            raise ValueError(f"GradientFlowRecorder: by must be 'parameter', 'module' or "
                             f"'activation', got {by!r}")
        self.model, self.by = model, by
        self._history = OrderedDict()
        self._pending = {}
        self._groups = OrderedDict()         # record name → the pending keys it sums
        self.labels = {}                     # record name → 'name (Type)' for plots
        self._handles = []
        if by == "activation":
            for name, m in model.named_modules():
                if next(m.children(), None) is None:
                    key = name or type(m).__name__
                    self._groups[key] = [key]
                    self.labels[key] = f"{key} ({type(m).__name__})"
                    self._handles.append(m.register_full_backward_hook(self._activation_hook(key)))
        else:
            seen = set()
            for mod_name, m in model.named_modules():
                for pname, p in m._parameters.items():
                    if p is None or not p.requires_grad or id(p) in seen:
                        continue
                    seen.add(id(p))
                    full = f"{mod_name}.{pname}" if mod_name else pname
                    key = full if by == "parameter" else (mod_name or type(model).__name__)
                    self._groups.setdefault(key, []).append(full)
                    self.labels[key] = f"{key} ({type(m).__name__})"
                    self._handles.append(p.register_hook(self._param_hook(full)))
        if not self._groups:
            raise ValueError(f"GradientFlowRecorder: {type(model).__name__} has nothing to record")
        for key in self._groups:
            self._history[key] = []
        self.steps = 0
        self._handles.append(model.register_forward_pre_hook(lambda module, args: self.record()))

    def _param_hook(self, full):
        def hook(grad):
            g = np.asarray(_array(grad), dtype=np.float64)
            prev = self._pending.get(full)
            self._pending[full] = g.copy() if prev is None else prev + g
        return hook

    def _activation_hook(self, key):
        def hook(module, grad_input, grad_output):
            sq = sum(float(np.sum(np.square(_array(g), dtype=np.float64)))
                     for g in grad_output if g is not None)
            self._pending[key] = self._pending.get(key, 0.0) + sq
        return hook

    def record(self):
        """Close the pending backward's record (called for you; safe to call any time)."""
        if not self._pending:
            return
        for key, members in self._groups.items():
            got = [self._pending[m] for m in members if m in self._pending]
            if not got:
                self._history[key].append(float("nan"))
            elif self.by == "activation":
                self._history[key].append(math.sqrt(got[0]))
            else:
                self._history[key].append(math.sqrt(sum(float(np.sum(g * g)) for g in got)))
        self._pending = {}
        self.steps += 1

    @property
    def history(self):
        """{name: list of norms, one per recorded backward}, in the model's layer order."""
        self.record()
        return self._history

    @property
    def norms(self):
        """{name: float64 array of norms per step}."""
        return OrderedDict((k, np.asarray(v, dtype=np.float64)) for k, v in self.history.items())

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.record()
        self.remove()

    def __repr__(self):
        return f"GradientFlowRecorder(by={self.by!r}, layers={len(self._groups)}, steps={self.steps})"


def _positive(y):
    y = np.asarray(y, dtype=np.float64).copy()
    y[~(y > 0)] = np.nan                     # a log axis cannot show 0, negatives or NaN
    return y


def plot_gradient_flow(recorder, path=None, title=None, max_legend=20):
    """Per-layer gradient norms over training steps (log scale), and their spread per layer.

    Left: one line per layer (or parameter), ‖grad‖ against step.  Right: for each layer, in
    model order from input to output, the median norm over all steps with a bar from the
    smallest to the largest.  Early layers sitting orders of magnitude below late ones is
    vanishing gradient; norms shooting up is exploding gradient.  ``recorder``: a
    ``GradientFlowRecorder`` or a dict {name: sequence of norms}.
    """
    data = recorder.norms if isinstance(recorder, GradientFlowRecorder) else \
        OrderedDict((k, np.asarray(v, dtype=np.float64)) for k, v in recorder.items())
    if not data or all(len(v) == 0 for v in data.values()):
        raise ValueError("plot_gradient_flow: nothing recorded yet (run a backward pass first)")
    by = recorder.by if isinstance(recorder, GradientFlowRecorder) else "layer"
    what = {"parameter": "‖∂L/∂θ‖", "module": "‖∂L/∂θ_layer‖", "activation": "‖∂L/∂output‖"}.get(by, "‖grad‖")
    names = list(data)
    labels = recorder.labels if isinstance(recorder, GradientFlowRecorder) else {}
    fig = _figure((12.0, 4.6))
    ax_steps, ax_layers = fig.subplots(1, 2, width_ratios=[1.5, 1])
    colours = _cmap("viridis")(np.linspace(0.0, 0.9, len(names)))
    for colour, name in zip(colours, names):
        y = _positive(data[name])
        ax_steps.plot(np.arange(1, len(y) + 1), y, color=colour, lw=1.2,
                      label=labels.get(name, name))
    ax_steps.set_yscale("log")
    ax_steps.set_xlabel("training step (backward pass)")
    ax_steps.set_ylabel(f"gradient norm {what}")
    ax_steps.set_title("Gradient norm per layer over training")
    ax_steps.grid(True, which="both", alpha=0.25)
    if len(names) <= max_legend:
        ax_steps.legend(fontsize=7, ncols=1 if len(names) <= 10 else 2)
    stats = np.array([[np.nanmin(v), np.nanmedian(v), np.nanmax(v)] if np.any(v > 0)
                      else [np.nan] * 3 for v in (_positive(data[n]) for n in names)])
    x = np.arange(len(names))
    ax_layers.vlines(x, stats[:, 0], stats[:, 2], color=colours, lw=3, alpha=0.5)
    ax_layers.scatter(x, stats[:, 1], color=colours, zorder=3, label="median over steps")
    ax_layers.set_yscale("log")
    ax_layers.set_xticks(x, [labels.get(n, n) for n in names], rotation=45, ha="right",
                         fontsize=7)
    ax_layers.set_xlabel("layer (input → output)")
    ax_layers.set_ylabel(f"gradient norm {what}")
    ax_layers.set_title("Spread per layer (min–max, median)")
    ax_layers.grid(True, which="both", axis="y", alpha=0.25)
    ax_layers.legend(fontsize=7)
    fig.suptitle(title or f"Gradient flow ({by})")
    fig.gradient_stats = OrderedDict(zip(names, stats))
    return _save(fig, path)


def plot_hidden_grad_norms(norms, path=None, normalize=False,
                           title="Gradient reaching each hidden state (backprop through time)"):
    """‖∂L/∂h_t‖ against time step t for several models on one log-scale axes.

    ``norms``: {label: array of length T}, e.g. ``vanishing_gradient_demo()`` or
    ``{'RNN': rec.norms[(0, 0)], ...}`` from ``layerwise.tools.grad_recorder``.  With the loss at
    the last step, the curve read from right to left is how much of the error signal survives
    the trip back to step t; a straight falling line on the log axis is exponential vanishing.
    ``normalize=True`` divides each curve by its value at the last step.  Zeros (underflow)
    are left out, since a log axis cannot show them.
    """
    if not norms:
        raise ValueError("plot_hidden_grad_norms: no curves given")
    fig = _figure((7.5, 4.5))
    ax = fig.add_subplot()
    for label, y in norms.items():
        y = np.asarray(_array(y), dtype=np.float64).reshape(-1)
        if normalize and y.size and y[-1] > 0:
            y = y / y[-1]
        ax.plot(np.arange(y.size), _positive(y), lw=1.6, label=str(label))
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖∂L/∂h_t‖ / ‖∂L/∂h_T‖" if normalize else "‖∂L/∂h_t‖")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend()
    return _save(fig, path)


def vanishing_gradient_demo(T=100, hidden=32, seed=0, batch=64, forget_bias=1.0):
    """‖∂L/∂h_t‖ per time step for an RNN and an LSTM on one batch of the adding problem.

    Builds ``RNN(2, hidden, batch_first=True)`` and ``LSTM(2, hidden, batch_first=True)`` (seeded
    alike), a linear head on the last hidden state, the mean squared error on one batch of
    ``adding_problem(batch, T)``, and backpropagates it; ``layerwise.tools.grad_recorder``
    records the gradient norm reaching each hidden state.  Returns {'RNN': array (T,),
    'LSTM': array (T,)}.  Runs in float64 so the smallest norms do not underflow to zero.

    ``forget_bias``: the LSTM's forget-gate bias at the start (the common initialisation of
    Gers et al. and Jozefowicz et al.); ``None`` keeps PyTorch's default, where the forget gate
    starts near 0.5 and the LSTM's gradient also vanishes, only more slowly than the RNN's.
    """
    import layerwise as lw
    from ..data.synthetic import adding_problem
    from ..nn.rnn import LSTM, RNN
    from .grad_recorder import record_hidden_grads

    x, y = adding_problem(batch, T, lw.Generator().manual_seed(seed), dtype=np.float64)
    out = {}
    for label, cls in (("RNN", RNN), ("LSTM", LSTM)):
        lw.manual_seed(seed)
        rnn = cls(2, hidden, batch_first=True, dtype=lw.float64)
        head = lw.nn.Linear(hidden, 1, dtype=lw.float64)
        if cls is LSTM and forget_bias is not None:
            with lw.no_grad():                        # gates i, f, g, o: f is the second block
                rnn.bias_ih_l0.array[hidden:2 * hidden] = forget_bias
                rnn.bias_hh_l0.array[hidden:2 * hidden] = 0.0
        with record_hidden_grads(rnn) as rec:
            seq, _ = rnn(x)
            loss = lw.nn.functional.mse_loss(head(seq[:, -1]), y)
            loss.backward()
        out[label] = np.asarray(rec.norms[(0, 0)], dtype=np.float64)
    return out


# ---------------------------------------------------------------------------- the demo
def save_demo_plots(model, history, sample, out_dir):
    """Write the demo's pictures into ``out_dir`` and return {name: path}.

    ``curves.png`` (loss and accuracy per epoch), ``kernels.png`` (the first Conv2d's filters)
    and ``feature_maps.png`` (each conv layer's response to ``sample``, one input image).
    """
    from ..nn.conv import Conv2d

    os.makedirs(out_dir, exist_ok=True)
    paths = OrderedDict()
    paths["curves"] = os.path.join(out_dir, "curves.png")
    plot_training_curves(history, paths["curves"])
    first = next((m for m in model.modules() if isinstance(m, Conv2d)), None)
    if first is not None:
        paths["kernels"] = os.path.join(out_dir, "kernels.png")
        plot_kernels(first, paths["kernels"])
        paths["feature_maps"] = os.path.join(out_dir, "feature_maps.png")
        plot_feature_maps(model, sample, paths["feature_maps"])
    return paths
