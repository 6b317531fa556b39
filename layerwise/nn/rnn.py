"""Recurrent layers: RNN, LSTM, GRU over whole sequences, and the single-step cells.

Every layer and direction is one fused sequence op (``layerwise.ops.recurrent``): one autograd
node with a hand-written backprop through time, not one node per time step.  A stacked or
bidirectional layer is a short chain of those ops (``cat`` joins the two directions).

Parameters are torch's, by name and registration order, so state dicts match key for key:
``weight_ih_l{k}[_reverse]`` (G, I_k), ``weight_hh_l{k}`` (G, P), ``bias_ih_l{k}``,
``bias_hh_l{k}`` (G,), ``weight_hr_l{k}`` (P, H) for an LSTM with ``proj_size`` P > 0; G = H
(RNN), 4H (LSTM, gates i, f, g, o), 3H (GRU, gates r, z, n).  All start U(−1/√H, 1/√H).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import dtypes as _dt
from .._tensor_ops import cat, stack
from ..autograd import grad_mode
from ..backend import xp
from ..ops.recurrent import GRUSequence, LSTMSequence, RNNSequence
from ..random import get_generator
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _shape(t):
    return tuple(t.shape)


def _no_projection(name, kwargs):
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"{name}.__init__() got an unexpected keyword argument {next(iter(kwargs))!r}")


def _dropout_mask(shape, p, dtype):
    """Inverted-dropout mask: each entry 1/(1 − p) with probability 1 − p, else 0 (from the
    default generator: uniform draws u, kept where u ≥ p)."""
    if p >= 1:
        return xp.zeros(shape, dtype)
    keep = get_generator().random(shape) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU: parameters, input checks, layer stacking."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        for name, v in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(v, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(v).__name__}")
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers), ("proj_size", proj_size)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        d = (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size or hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for base, shape in shapes:
                    setattr(self, base + sfx, Parameter(xp.empty(shape, d)))
                    names.append(base + sfx)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    def flatten_parameters(self):
        """A no-op (kept for torch compatibility: the parameters are used as they are)."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _name(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    # ------------------------------------------------------------------ checks
    def _check_input(self, input):
        name, I = self._name(), self.input_size
        if isinstance(input, PackedSequence):
            data = input.data
            if not isinstance(data, Tensor) or data.ndim != 2 or data.shape[1] != I:
                got = _shape(data) if isinstance(data, Tensor) else type(data).__name__
                raise RuntimeError(f"{name}: expected PackedSequence data of shape (sum of lengths, "
                                   f"{I}), got {got}")
            x = data
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: expected a Tensor or a PackedSequence input, got "
                                f"{type(input).__name__}")
            lead = "(N, L, " if self.batch_first else "(L, N, "
            if input.ndim not in (2, 3) or input.shape[-1] != I:
                raise RuntimeError(f"{name}: expected input of shape {lead}{I}) or (L, {I}), got "
                                   f"{_shape(input)}")
            if input.shape[1 if input.ndim == 3 and self.batch_first else 0] == 0:
                raise RuntimeError(f"{name}: expected a sequence length larger than 0, got input "
                                   f"of shape {_shape(input)}")
            x = input
        if not x.is_floating_point():
            raise TypeError(f"{name}: expected a floating point input, got {x.dtype}")
        w = self._flat_weights[0]
        if x.dtype != w.dtype:
            raise TypeError(f"{name}: input dtype {x.dtype.name} does not match the weight dtype "
                            f"{w.dtype.name}; convert the input (.to({w.dtype.name})) or the model "
                            f"(.to({x.dtype.name}))")

    def _check_state(self, h, what, size, batch, unbatched, input_shape, dtype):
        """``h`` must be (layers·directions, batch, size), or (layers·directions, size) unbatched."""
        name = self._name()
        if not isinstance(h, Tensor):
            raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(h).__name__}")
        ld = self.num_layers * (2 if self.bidirectional else 1)
        expected = (ld, size) if unbatched else (ld, batch, size)
        if _shape(h) != expected:
            msg = f"{name}: expected {what} of shape {expected}, got {_shape(h)}"
            if unbatched and h.ndim == 3:
                msg += f" (the input {input_shape} is unbatched (L, H_in), so {what} must be 2-D)"
            elif not unbatched and h.ndim == 2:
                msg += f" (the input {input_shape} is batched, so {what} must be 3-D)"
            elif input_shape is not None and h.ndim == 3 and h.shape[0] == ld and h.shape[2] == size:
                other = input_shape[1 if self.batch_first else 0]
                if h.shape[1] == other != batch:
                    msg += (f"; its batch size {h.shape[1]} is the input's dim "
                            f"{1 if self.batch_first else 0}: is batch_first={self.batch_first} right? "
                            f"The batch is dim {0 if self.batch_first else 1} of the input")
            raise RuntimeError(msg)
        if h.dtype != dtype:
            raise TypeError(f"{name}: {what} dtype {h.dtype.name} does not match the input dtype "
                            f"{dtype.name}")

    def _split_hx(self, hx):
        """(h_0, c_0) for an LSTM, (h_0, None) otherwise; either may be None."""
        if self.mode == "LSTM":
            if hx is None:
                return None, None
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._name()}: expected hx to be a tuple (h_0, c_0), got "
                                f"{type(hx).__name__}")
            return hx[0], hx[1]
        if isinstance(hx, (tuple, list)):
            raise TypeError(f"{self._name()}: expected hx to be a Tensor h_0, got a "
                            f"{type(hx).__name__}")
        return hx, None

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None):
        self._check_input(input)
        packed = isinstance(input, PackedSequence)
        D = 2 if self.bidirectional else 1
        P = self.proj_size or self.hidden_size
        h0, c0 = self._split_hx(hx)
        if packed:
            x = input.data
            batch_sizes = tuple(int(b) for b in np.asarray(input.batch_sizes.array).reshape(-1))
            B, unbatched, in_shape = batch_sizes[0], False, None
        else:
            in_shape = _shape(input)
            unbatched = input.ndim == 2
            x = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if self.batch_first else input
            T, B = x.shape[0], x.shape[1]
            x = x.reshape(T * B, self.input_size)
            batch_sizes = (B,) * T
        dtype = x.dtype
        states = []
        for h, what, size in ((h0, "h_0", P), (c0, "c_0", self.hidden_size)):
            if h is not None:
                self._check_state(h, what, size, B, unbatched, in_shape, dtype)
                if unbatched:
                    h = h.unsqueeze(1)
                if packed and input.sorted_indices is not None:
                    h = h.index_select(1, input.sorted_indices)
            states.append(h)
        h0, c0 = states

        rec = self.__dict__.get("_grad_recorder")
        recording = rec is not None and grad_mode.is_grad_enabled()
        zeros_h = zeros_c = None
        hs, cs = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                if h0 is None:
                    if zeros_h is None:
                        zeros_h = Tensor._wrap(xp.zeros((B, P), dtype.np))
                    hk = zeros_h
                else:
                    hk = h0[k]
                opts = dict(batch_sizes=batch_sizes, reverse=d == 1,
                            record=rec[0]._callback(rec[1], layer, d) if recording else None)
                params = [getattr(self, n) for n in self._all_weights[k]]
                if self.mode == "LSTM":
                    if c0 is None:
                        if zeros_c is None:
                            zeros_c = Tensor._wrap(xp.zeros((B, self.hidden_size), dtype.np))
                        ck = zeros_c
                    else:
                        ck = c0[k]
                    if not self.bias:          # the op's inputs: (…, bias_ih?, bias_hh?, weight_hr?)
                        params = params[:2] + [None, None] + params[2:]
                    y, h_n, c_n = LSTMSequence.apply(layer_in, hk, ck, *params, **opts)
                    cs.append(c_n)
                elif self.mode == "GRU":
                    y, h_n = GRUSequence.apply(layer_in, hk, *params, **opts)
                else:
                    y, h_n = RNNSequence.apply(layer_in, hk, *params, **opts,
                                               nonlinearity="relu" if self.mode == "RNN_RELU" else "tanh")
                outs.append(y)
                hs.append(h_n)
            layer_in = outs[0] if D == 1 else cat(outs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                mask = _dropout_mask(_shape(layer_in), self.dropout, dtype.np)
                layer_in = layer_in * Tensor._wrap(mask)
        h_n = stack(hs, 0)
        c_n = stack(cs, 0) if self.mode == "LSTM" else None

        if packed:
            if input.unsorted_indices is not None:
                h_n = h_n.index_select(1, input.unsorted_indices)
                if c_n is not None:
                    c_n = c_n.index_select(1, input.unsorted_indices)
            output = PackedSequence(layer_in, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
        else:
            output = layer_in.reshape(T, B, D * P)
            if unbatched:
                output = output.squeeze(1)
                h_n = h_n.squeeze(1)
                c_n = c_n.squeeze(1) if c_n is not None else None
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, ((h_n, c_n) if self.mode == "LSTM" else h_n)


class RNN(RNNBase):
    """Elman RNN, per layer: h_t = act(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), act tanh or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, h_0=None)`` returns
    ``output, h_n``.  Parameters per layer and direction: H·(I + H) + 2H.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        _no_projection("RNN", kwargs)
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o (torch's order), optional projection.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0)``; ``forward(input, (h_0, c_0)=None)`` returns
    ``output, (h_n, c_n)``.  Parameters per layer and direction: 4H·(I + P) + 8H (+ P·H with a
    projection, P = proj_size or H).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n with n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``; ``forward(input, h_0=None)`` returns ``output, h_n``.  Parameters per
    layer and direction: 3H·(I + H) + 6H.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        _no_projection("GRU", kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


# ----------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One time step: parameters ``weight_ih`` (G, I), ``weight_hh`` (G, H), ``bias_ih``,
    ``bias_hh`` (G,), all U(−1/√H, 1/√H).  The step runs the fused sequence op with T = 1."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")
            if v <= 0:
                raise ValueError(f"{name} must be greater than zero")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        d = (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(xp.empty((g, input_size), d))
        self.weight_hh = Parameter(xp.empty((g, hidden_size), d))
        if bias:
            self.bias_ih = Parameter(xp.empty((g,), d))
            self.bias_hh = Parameter(xp.empty((g,), d))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _name(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def _params(self):
        return [self.weight_ih, self.weight_hh] + ([self.bias_ih, self.bias_hh] if self.bias else [])

    def _prepare(self, input, states):
        """Check the input and states; return (x (B, I), [states (B, H)], unbatched)."""
        name, I, H = self._name(), self.input_size, self.hidden_size
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (1, 2) or input.shape[-1] != I:
            raise RuntimeError(f"{name}: expected input of shape (N, {I}) or ({I},), got {_shape(input)}")
        if not input.is_floating_point():
            raise TypeError(f"{name}: expected a floating point input, got {input.dtype}")
        if input.dtype != self.weight_ih.dtype:
            raise TypeError(f"{name}: input dtype {input.dtype.name} does not match the weight dtype "
                            f"{self.weight_ih.dtype.name}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        B = x.shape[0]
        out = []
        for what, h in states:
            if h is None:
                out.append(Tensor._wrap(xp.zeros((B, H), x.array.dtype)))
                continue
            if not isinstance(h, Tensor):
                raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(h).__name__}")
            expected = (H,) if unbatched else (B, H)
            if _shape(h) != expected:
                raise RuntimeError(f"{name}: expected {what} of shape {expected}, got {_shape(h)}")
            if h.dtype != x.dtype:
                raise TypeError(f"{name}: {what} dtype {h.dtype.name} does not match the input "
                                f"dtype {x.dtype.name}")
            out.append(h.unsqueeze(0) if unbatched else h)
        return x, out, unbatched


class RNNCell(RNNCellBase):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act tanh or relu; ``forward(input, hx=None)``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._prepare(input, [("hx", hx)])
        y, _ = RNNSequence.apply(x, h, *self._params(), nonlinearity=self.nonlinearity)
        return y.squeeze(0) if unbatched else y


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o); ``forward(input, (h, c)=None)`` returns ``(h', c')``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self._name()}: expected hx to be a tuple (h, c), got {type(hx).__name__}")
        h, c = hx if hx is not None else (None, None)
        x, (h, c), unbatched = self._prepare(input, [("h", h), ("c", c)])
        y, _, c_n = LSTMSequence.apply(x, h, c, *self._params())
        if unbatched:
            return y.squeeze(0), c_n.squeeze(0)
        return y, c_n


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n); ``forward(input, hx=None)`` returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._prepare(input, [("hx", hx)])
        y, _ = GRUSequence.apply(x, h, *self._params())
        return y.squeeze(0) if unbatched else y
