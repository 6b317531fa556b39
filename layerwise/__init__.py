"""layerwise: deep-learning layers on NumPy, with PyTorch's API and numerics.

    import layerwise as lw
    model = lw.nn.Sequential(lw.nn.Linear(64, 128), lw.nn.ReLU(), lw.nn.Linear(128, 10))
    opt = lw.optim.AdamW(model.parameters(), lr=1e-3)
    loss = lw.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
"""
from . import backend
from .backend import get_num_threads, set_num_threads
from .dtypes import (bool_ as bool, dtype, float16, float32, float64, get_default_dtype, int8,
                     int16, int32, int64, set_default_dtype, uint8)
from .dtypes import float16 as half, float32 as float, float64 as double, int64 as long, int32 as int, int16 as short
from .device import cuda, device
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .random import default_generator
from .tensor import (Size, Tensor, arange, as_tensor, empty, empty_like, eye, from_numpy, full,
                     full_like, linspace, ones, ones_like, rand, rand_like, randint, randn,
                     randn_like, randperm, tensor, zeros, zeros_like)
from .tensor import (abs, add, all, allclose, amax, amin, any, argmax, argmin, argsort, bmm,
                    cat, ceil, chunk, clamp, clip, clone, concat, concatenate, cos,
                    count_nonzero, cumsum, div, divide, dot, eq, equal, exp, expand, flatten,
                    flip, floor, floor_divide, gather, ge, gt, index_select, isfinite, isinf,
                    isnan, le, log, log1p, log_softmax, logical_and, logical_not, logical_or,
                    logical_xor, logsumexp, lt, masked_fill, matmul, max, maximum, mean, min,
                    minimum, mm, mul, multinomial, multiply, narrow, ne, neg, norm, outer,
                    permute, pow, prod, remainder, repeat, reshape, round, rsqrt,
                    scatter_add, sigmoid, sign, sin, softmax, sort, split, sqrt, square,
                    squeeze, stack, std, sub, subtract, sum, swapaxes, t, tanh, topk,
                    transpose, tril, triu, true_divide, trunc, unbind, unflatten, unsqueeze,
                    var, where)
from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from . import data, nn, optim  # noqa: E402
from .tools import summary  # noqa: E402
from . import io  # noqa: E402
from .io import load, save  # noqa: E402

__version__ = "0.1.0"
