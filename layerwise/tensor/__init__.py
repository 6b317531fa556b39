"""The Tensor core: the Tensor, Parameter and Buffer, creation functions and printing.

    core.py        the Tensor: attributes, conversion, dtype/device, autograd entry points,
                   the in-place machinery
    mixins/        the Tensor's methods, one mixin class per family of ops (mirroring ops/),
                   with the tensor-level functions (``lw.exp``, ``lw.cat``, ...)
    creation.py    tensor, zeros, arange, rand, ... (torch's creation functions)
    format.py      torch's printing
    parameter.py   Parameter and Buffer (re-exported from layerwise.nn)

The Tensor core imports nothing from ``layerwise.nn``.  Its only import circle is with
``layerwise.ops``: a method calls its op, and ``Function.apply`` builds Tensors.  It does not
import NumPy: array math goes through the arrays' module (``backend.get_array_module``),
host-side work through ``backend.host``.
"""
from .core import Size, Tensor, _RemovableHandle  # noqa: F401  (nn.Module's hook handles)
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, multinomial, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, tensor, zeros, zeros_like)
from .mixins._common import wrap_dim as _wrap_dim  # noqa: F401
from .mixins.activation import log_softmax, softmax
from .mixins.comparison import (allclose, eq, equal, ge, gt, isfinite, isinf, isnan, le,
                                logical_and, logical_not, logical_or, logical_xor, lt, ne)
from .mixins.elementwise import (abs, add, ceil, clamp, clip, clone, cos, div, divide, exp, floor,
                                 floor_divide, log, log1p, maximum, minimum, mul, multiply, neg,
                                 negative, pow, remainder, round, rsqrt, sigmoid, sign, sin, sqrt,
                                 square, sub, subtract, tanh, true_divide, trunc, where)
from .mixins.index import gather, index_select, masked_fill, scatter_add
from .mixins.index import normalize_index as _normalize_index  # noqa: F401
from .mixins.linalg import bmm, dot, matmul, mm, outer
from .mixins.reduce import (all, amax, amin, any, argmax, argmin, argsort, count_nonzero, cumsum,
                            logsumexp, max, mean, min, norm, prod, sort, std, sum, topk, var)
from .mixins.shape import (cat, chunk, concat, concatenate, contiguous, expand, flatten, flip,
                           narrow, permute, repeat, reshape, split, squeeze, stack, swapaxes, t,
                           transpose, tril, triu, unbind, unflatten, unsqueeze, view)
from .parameter import Buffer, Parameter
