"""layerwise.nn.functional: stateless layer functions with torch.nn.functional's names and signatures.

Each function validates its arguments (shapes, dtypes, ranges: a clear error
instead of a silently broadcast wrong answer), applies torch's dtype rules and
calls a fused op from ``layerwise/ops``; the math, forward and backward, lives there.

The file is grouped by family, one section each: activations, the softmax
family, linear, losses, utilities.  New families (convolution, pooling,
dropout, normalisation, attention, ...) get their own section.
"""
from __future__ import annotations

import numbers
import warnings

from .. import _tensor_ops as T
from .. import dtypes as _dt
from ..backend import xp
from ..ops import activation as A
from ..ops import loss as L
from ..ops.linear import LinearOp
from ..tensor import Tensor


# ---------------------------------------------------------------------- argument checks
def _check_tensor(x, name, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(x).__name__}")


def _check_float(x, name, what="input"):
    _check_tensor(x, name, what)
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating point {what}, got {x.dtype.name}; "
                        "convert it with .float()")


def _apply(op, name, input, inplace=False, allow_int=False, **options):
    """Run an elementwise op, or write its result into ``input`` for inplace=True (as torch)."""
    (_check_tensor if allow_int else _check_float)(input, name)
    if inplace:
        return input._inplace(lambda x: op.apply(x, **options))
    return op.apply(input, **options)


# ====================================================================== activations
def relu(input, inplace=False):
    """max(x, 0), with relu'(0) = 0.  Works on integer tensors too, as torch."""
    return _apply(A.ReLU, "relu", input, inplace, allow_int=True)


def relu_(input):
    return relu(input, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6): hardtanh(x, 0, 6), with gradient 0 at 0 and 6."""
    return _apply(A.Hardtanh, "relu6", input, inplace, allow_int=True, min_val=0.0, max_val=6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _apply(A.LeakyReLU, "leaky_relu", input, inplace, negative_slope=negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    """x if x > 0 else a·x, with ``weight`` a holding 1 value or one per channel (dim 1)."""
    _check_float(input, "prelu")
    _check_float(weight, "prelu", "weight")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: expected weight to be a scalar or 1-D tensor, got shape "
                           f"{tuple(weight.shape)}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() not in (1, channels):
        raise RuntimeError(f"prelu: weight has {weight.numel()} parameters but the input of shape "
                           f"{tuple(input.shape)} has {channels} channels (dim 1; 1 channel for "
                           "inputs with fewer than 2 dims): use 1 parameter or one per channel")
    if weight.dtype != input.dtype:
        raise TypeError(f"prelu: weight dtype {weight.dtype.name} does not match the input dtype "
                        f"{input.dtype.name}")
    return A.PReLU.apply(input, weight)


def elu(input, alpha=1.0, inplace=False):
    return _apply(A.ELU, "elu", input, inplace, alpha=float(alpha))


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    return _apply(A.ELU, "selu", input, inplace, alpha=A.SELU_ALPHA, scale=A.SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the negative branch is α·(e^(x/α) − 1))")
    return _apply(A.ELU, "celu", input, inplace, alpha=float(alpha), input_scale=1.0 / alpha)


def gelu(input, approximate="none"):
    """x·Φ(x) with the exact normal CDF (erf), or its tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _apply(A.GELU, "gelu", input, approximate=approximate)


def silu(input, inplace=False):
    return _apply(A.SiLU, "silu", input, inplace)


def mish(input, inplace=False):
    return _apply(A.Mish, "mish", input, inplace)


def softplus(input, beta=1.0, threshold=20.0):
    return _apply(A.Softplus, "softplus", input, beta=float(beta), threshold=float(threshold))


def softsign(input):
    _check_tensor(input, "softsign")
    return A.Softsign.apply(T._as_float_input(input, "softsign"))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """min(max(x, min_val), max_val), with gradient 0 *at* the bounds (unlike clamp)."""
    return _apply(A.Hardtanh, "hardtanh", input, inplace, allow_int=True, min_val=min_val,
                  max_val=max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def hardsigmoid(input, inplace=False):
    return _apply(A.Hardsigmoid, "hardsigmoid", input, inplace)


def hardswish(input, inplace=False):
    return _apply(A.Hardswish, "hardswish", input, inplace)


def logsigmoid(input):
    return _apply(A.LogSigmoid, "logsigmoid", input)


def _check_lambd(lambd, input, name):
    limit = float(xp.finfo(input.array.dtype).max)
    if not 0 <= lambd <= limit:
        raise RuntimeError(f"{name}: lambda must be in range [0, {limit:g}] for input dtype "
                           f"{input.dtype}, but found {lambd}")


def softshrink(input, lambd=0.5):
    """x − λ where x > λ, x + λ where x < −λ, 0 between (composed: the gradient is 1 outside
    [−λ, λ] and 0 inside)."""
    _check_float(input, "softshrink")
    _check_lambd(lambd, input, "softshrink")
    return T.where(input > lambd, input - lambd, T.where(input < -lambd, input + lambd, 0.0))


def hardshrink(input, lambd=0.5):
    """x where |x| > λ, else 0."""
    _check_float(input, "hardshrink")
    return T.where((input > lambd) | (input < -lambd), input, 0.0)


def tanhshrink(input):
    """x − tanh(x)."""
    _check_float(input, "tanhshrink")
    return input - input.tanh()


def glu(input, dim=-1):
    """Gated linear unit: a ⊙ σ(b), where a and b are the two halves of ``input`` along ``dim``."""
    _check_float(input, "glu")
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % input.ndim
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.split(n // 2, dim=d)
    return a * b.sigmoid()


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, *, generator=None):
    """Randomized leaky ReLU: x where x ≥ 0, else a·x, with a ~ U(lower, upper) drawn per
    element in training and a = (lower + upper)/2 in eval (so eval is a LeakyReLU).  The drawn
    slopes come from layerwise's generator: they cannot follow torch's random stream."""
    _check_float(input, "rrelu")
    if not 0 <= lower <= upper:
        raise ValueError(f"rrelu: expected 0 <= lower <= upper, got lower={lower}, upper={upper}")
    if training:
        from ..random import get_generator
        a = get_generator(generator).uniform(lower, upper, tuple(input.shape))
        slope = Tensor._wrap(xp.where(input.array >= 0, 1.0, a).astype(input.array.dtype))
    else:
        slope = Tensor._wrap(xp.where(input.array >= 0, 1.0, (lower + upper) / 2)
                             .astype(input.array.dtype))
    if inplace:
        return input.mul_(slope)
    return input * slope


def _threshold(input, threshold, value, inplace):
    return _apply(A.Threshold, "threshold", input, inplace, allow_int=True, threshold=threshold,
                  value=value)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    return _threshold(input, threshold, value, inplace)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, inplace=True)


def sigmoid(input):
    return T.sigmoid(input)


def tanh(input):
    return T.tanh(input)


# ====================================================================== softmax family
def _softmax_dim(name, ndim, stacklevel):
    """torch's legacy choice when no dim is given (with its deprecation warning)."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    _check_tensor(input, "softmax")
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return T.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    _check_tensor(input, "log_softmax")
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return T.log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(−x)."""
    _check_tensor(input, "softmin")
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    return T.softmax(T.neg(input), dim, dtype=dtype)


# ====================================================================== linear
def linear(input, weight, bias=None):
    """y = x Wᵀ + b with W (out_features, in_features) (or a 1-D weight: y = x·w + b)."""
    _check_float(input, "linear")
    _check_float(weight, "linear", "weight")
    if weight.ndim not in (1, 2):
        raise RuntimeError(f"linear: weight must be 1-D or 2-D (out_features, in_features), got "
                           f"shape {tuple(weight.shape)}")
    in_features = weight.shape[-1]
    if input.ndim == 0 or input.shape[-1] != in_features:
        raise RuntimeError(f"linear: input of shape {tuple(input.shape)} does not match weight of "
                           f"shape {tuple(weight.shape)}: the input's last dim must be "
                           f"in_features = {in_features}")
    if weight.dtype != input.dtype:
        raise TypeError(f"linear: input dtype {input.dtype.name} does not match the weight dtype "
                        f"{weight.dtype.name}")
    bias_shape = tuple(weight.shape[:1]) if weight.ndim == 2 else ()
    if bias is not None:
        _check_float(bias, "linear", "bias")
        if tuple(bias.shape) != bias_shape:
            raise RuntimeError(f"linear: bias of shape {tuple(bias.shape)} does not match weight "
                               f"of shape {tuple(weight.shape)}: expected {bias_shape}")
        if bias.dtype != input.dtype:
            raise TypeError(f"linear: bias dtype {bias.dtype.name} does not match the input dtype "
                            f"{input.dtype.name}")
    if weight.ndim == 1:
        y = T.matmul(input, weight)
        return y if bias is None else y + bias
    return LinearOp.apply(input, weight) if bias is None else LinearOp.apply(input, weight, bias)


# ====================================================================== losses
_REDUCTIONS = ("none", "mean", "sum")


def _reduction(name, reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """The reduction string, translating the deprecated size_average/reduce flags as torch."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      "reduction='sum' or reduction='mean' or reduction='none' instead.",
                      stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in allowed:
        raise ValueError(f"{name}: {reduction!r} is not a valid value for reduction (expected one "
                         f"of {', '.join(repr(r) for r in allowed)})")
    return reduction


def _same_shape(input, target, name):
    _check_tensor(target, name, "target")
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: target shape {tuple(target.shape)} differs from input shape "
                         f"{tuple(input.shape)}; layerwise does not broadcast them (torch would, "
                         "and the result is rarely what was meant): reshape one of them")


def _promote_pair(input, target):
    d = _dt.float_result_type(input, target)
    return input._cast(d), target._cast(d)


def _const_array(w, name, what, shape, dtype):
    """A weight-like Tensor as an array of ``dtype`` that broadcasts to ``shape`` (no gradient)."""
    _check_tensor(w, name, what)
    if w.requires_grad:
        raise RuntimeError(f"{name}: the loss is not differentiable with respect to {what}; pass "
                           f"{what}.detach()")
    try:
        ok = xp.broadcast_shapes(w.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{name}: {what} of shape {tuple(w.shape)} does not broadcast to the "
                           f"input shape {tuple(shape)}")
    return w.array.astype(dtype.np, copy=False)


def _class_weight(weight, classes, input, name):
    if weight is None:
        return None
    _check_tensor(weight, name, "weight")
    if tuple(weight.shape) != (classes,):
        raise RuntimeError(f"{name}: weight should hold one value per class, shape ({classes},), "
                           f"got {tuple(weight.shape)}")
    return _const_array(weight, name, "weight", (classes,), input.dtype)


def _class_targets(input, target, name, ignore_index, unbatched):
    """Validated class-index targets as an int64 array; classes are dim 1 (dim 0 if unbatched)."""
    _check_tensor(target, name, "target")
    classes = input.shape[0 if unbatched else 1]
    expected = () if unbatched else tuple(input.shape[:1]) + tuple(input.shape[2:])
    if target.array.dtype.kind not in "iu":
        hint = (f"; for class probabilities pass a floating point target of the input's shape "
                f"{tuple(input.shape)}" if name == "cross_entropy" else "")
        raise RuntimeError(f"{name}: expected class-index targets of an integer dtype (int64) with "
                           f"shape {expected}, got {target.dtype.name} of shape "
                           f"{tuple(target.shape)}{hint}")
    if tuple(target.shape) != expected:
        if name == "cross_entropy" and tuple(target.shape) == tuple(input.shape):
            raise RuntimeError(f"cross_entropy: a target of the input's shape {tuple(input.shape)} "
                               f"holds class probabilities and must be floating point, got "
                               f"{target.dtype.name}; class-index targets have shape {expected}")
        raise ValueError(f"{name}: expected a target of shape {expected} for an input of shape "
                         f"{tuple(input.shape)} (classes on dim {0 if unbatched else 1}), got "
                         f"{tuple(target.shape)}")
    t = target.array.astype(xp.int64, copy=False)
    bad = (t != ignore_index) & ((t < 0) | (t >= classes))
    if bad.any():
        raise IndexError(f"{name}: target {t[bad].flat[0]} is out of bounds for {classes} classes "
                         f"(expected 0 <= target < {classes}, or ignore_index={ignore_index})")
    return t


def _class_input(input, name):
    _check_float(input, name)
    if input.ndim == 0:
        raise ValueError(f"{name}: expected an input of shape (C,), (N, C) or (N, C, d1, ...), got "
                         "a 0-d tensor")
    return input.ndim == 1


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy, classes on dim 1: class-index targets (N, d1, ...) or class
    probabilities of the input's shape; optional class weights and label smoothing."""
    reduction = _reduction("cross_entropy", reduction, size_average, reduce)
    unbatched = _class_input(input, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    w = _class_weight(weight, input.shape[0 if unbatched else 1], input, "cross_entropy")
    _check_tensor(target, "cross_entropy", "target")
    x = T.unsqueeze(input, 0) if unbatched else input
    if target.is_floating_point() and tuple(target.shape) == tuple(input.shape):
        if ignore_index >= 0:
            raise ValueError("cross_entropy: ignore_index is not supported for class-probability "
                             "(floating point) targets")
        t = target._cast(input.dtype)
        out = L.SoftTargetCrossEntropy.apply(x, T.unsqueeze(t, 0) if unbatched else t, weight=w,
                                             label_smoothing=float(label_smoothing),
                                             reduction=reduction)
    else:
        t = _class_targets(input, target, "cross_entropy", ignore_index, unbatched)
        out = L.CrossEntropy.apply(x, target=t.reshape(1) if unbatched else t, weight=w,
                                   ignore_index=ignore_index,
                                   label_smoothing=float(label_smoothing), reduction=reduction)
    return T.reshape(out, ()) if unbatched and reduction == "none" else out


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """−input[i, target_i] (input holds log-probabilities, classes on dim 1), weighted."""
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    unbatched = _class_input(input, "nll_loss")
    w = _class_weight(weight, input.shape[0 if unbatched else 1], input, "nll_loss")
    t = _class_targets(input, target, "nll_loss", ignore_index, unbatched)
    x = T.unsqueeze(input, 0) if unbatched else input
    out = L.NLLLoss.apply(x, target=t.reshape(1) if unbatched else t, weight=w,
                          ignore_index=ignore_index, reduction=reduction)
    return T.reshape(out, ()) if unbatched and reduction == "none" else out


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """−w·(t·ln x + (1 − t)·ln(1 − x)) for probabilities x, with the logs clamped at −100."""
    name = "binary_cross_entropy"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_float(input, name)
    _same_shape(input, target, name)
    if target.dtype != input.dtype:
        raise TypeError(f"{name}: target dtype {target.dtype.name} differs from input dtype "
                        f"{input.dtype.name}; convert one of them")
    for what, t in (("input", input), ("target", target)):
        a = t.array
        if a.size and not ((a >= 0) & (a <= 1)).all():
            nan = xp.isnan(a)
            found = [f"values in [{a[~nan].min():g}, {a[~nan].max():g}]"] if not nan.all() else []
            found += ["NaN"] if nan.any() else []
            raise RuntimeError(f"{name}: all elements of {what} should be between 0 and 1, found "
                               + " and ".join(found)
                               + (" (apply sigmoid first, or use binary_cross_entropy_with_logits)"
                                  if what == "input" else ""))
    w = None if weight is None else _const_array(weight, name, "weight", input.shape, input.dtype)
    return L.BinaryCrossEntropy.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(x), t), computed stably from the logits x; pos_weight
    multiplies the positive term (broadcast along the last dim, one per class)."""
    name = "binary_cross_entropy_with_logits"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_float(input, name)
    _same_shape(input, target, name)
    # torch computes in the target's dtype when the two differ (its loss starts from 1 − target)
    d = target.dtype if target.is_floating_point() else input.dtype
    x, t = input._cast(d), target._cast(d)
    w = None if weight is None else _const_array(weight, name, "weight", x.shape, d)
    pw = None if pos_weight is None else _const_array(pos_weight, name, "pos_weight", x.shape, d)
    return L.BinaryCrossEntropyWithLogits.apply(x, t, weight=w, pos_weight=pw, reduction=reduction)


def _difference_loss(op, name, input, target, reduction, weight=None, weighted_mean="weights",
                     **params):
    _check_tensor(input, name)
    _same_shape(input, target, name)
    if weight is None:
        x, t = _promote_pair(input, target)
        return op.apply(x, t, reduction=reduction, **params)
    _check_tensor(weight, name, "weight")
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{name}: weight shape {tuple(weight.shape)} must equal the input shape "
                         f"{tuple(input.shape)}")
    x, t = _promote_pair(input, target)
    loss = op.apply(x, t, reduction="none", **params) * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return T.sum(loss)
    # torch: mse/l1 divide by the summed weights, huber by the number of elements
    return T.sum(loss) / T.sum(weight) if weighted_mean == "weights" else T.mean(loss)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(x − t)², optionally weighted per element (weighted mean: Σ w·(x − t)² / Σ w)."""
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    return _difference_loss(L.MSELoss, "mse_loss", input, target, reduction, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|x − t|, optionally weighted per element (weighted mean: Σ w·|x − t| / Σ w)."""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    return _difference_loss(L.L1Loss, "l1_loss", input, target, reduction, weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """(x − t)²/(2β) where |x − t| < β, else |x − t| − β/2; β = 0 is the L1 loss."""
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return _difference_loss(L.L1Loss, "smooth_l1_loss", input, target, reduction)
    return _difference_loss(L.SmoothL1Loss, "smooth_l1_loss", input, target, reduction,
                            beta=float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """(x − t)²/2 where |x − t| < δ, else δ·(|x − t| − δ/2)."""
    reduction = _reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    _check_tensor(input, "huber_loss")
    _check_tensor(target, "huber_loss", "target")
    if input.is_floating_point():
        target = target._cast(input.dtype)      # torch computes huber in the input's dtype
    return _difference_loss(L.HuberLoss, "huber_loss", input, target, reduction, weight,
                            weighted_mean="elements", delta=float(delta))


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Σ t·(ln t − x) for log-probabilities x (and t also as logs with log_target=True).
    'batchmean' divides the sum by the batch size (the KL divergence per sample)."""
    name = "kl_div"
    legacy = size_average is not None or reduce is not None
    reduction = _reduction(name, reduction, size_average, reduce, _REDUCTIONS + ("batchmean",))
    _check_tensor(input, name)
    _same_shape(input, target, name)
    if reduction == "mean" and not legacy:
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    x, t = _promote_pair(input, target)
    if reduction == "batchmean":
        if x.ndim == 0:
            reduction, denom = "sum", None
        else:
            reduction, denom = "mean", x.shape[0]
    else:
        denom = None
    return L.KLDiv.apply(x, t, reduction=reduction, log_target=bool(log_target), denom=denom)


# ====================================================================== utilities
def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each index."""
    _check_tensor(tensor, "one_hot", "tensor")
    idx = tensor.array
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expected an integer (int64) index tensor, got "
                           f"{tensor.dtype.name}")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("one_hot: cannot infer the number of classes from an empty tensor; "
                               "pass num_classes")
        num_classes = int(idx.max()) + 1
    if not isinstance(num_classes, numbers.Integral) or num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be a non-negative int or -1, got {num_classes!r}")
    if idx.size and idx.min() < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {idx.min()}")
    if idx.size and idx.max() >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes "
                           f"({num_classes}), got {idx.max()}")
    out = xp.zeros(idx.shape + (int(num_classes),), xp.int64)
    if idx.size:
        xp.put_along_axis(out, idx[..., None].astype(xp.int64), 1, axis=-1)
    return Tensor._wrap(out)



# =====================================================================================
# Layer families that keep their functional forms beside their modules
# =====================================================================================
from .pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,  # noqa: E402
                      adaptive_max_pool1d_with_indices, adaptive_max_pool2d,
                      adaptive_max_pool2d_with_indices, avg_pool1d, avg_pool2d, max_pool1d,
                      max_pool1d_with_indices, max_pool2d, max_pool2d_with_indices, max_unpool1d,
                      max_unpool2d)
from .batchnorm import batch_norm  # noqa: E402
from .conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d  # noqa: E402
from .dropout import alpha_dropout, dropout, dropout1d, dropout2d, dropout3d  # noqa: E402
from .normalization import group_norm, instance_norm, layer_norm, rms_norm  # noqa: E402
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402
from .sparse import embedding, embedding_bag  # noqa: E402,F401
from .padding import pad  # noqa: E402,F401
from .distance import cosine_similarity, normalize, pairwise_distance  # noqa: E402,F401
from .upsampling import interpolate, pixel_shuffle, pixel_unshuffle  # noqa: E402,F401
from .fold import fold, unfold  # noqa: E402,F401
from .pooling3d import (adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d,  # noqa: E402,F401
                        max_pool3d)
from .channel_ops import (channel_shuffle, local_response_norm, lp_pool1d,  # noqa: E402,F401
                          lp_pool2d)
from .more_losses import (cosine_embedding_loss, gaussian_nll_loss,  # noqa: E402,F401
                          hinge_embedding_loss, margin_ranking_loss, multi_margin_loss,
                          multilabel_margin_loss, multilabel_soft_margin_loss,
                          poisson_nll_loss, soft_margin_loss, triplet_margin_loss,
                          triplet_margin_with_distance_loss)
