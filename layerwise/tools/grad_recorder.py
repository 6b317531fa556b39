"""Record the gradient flowing back through time in recurrent layers (opt-in).

    with lw.tools.record_hidden_grads(model) as rec:
        out, h_n = model(x)
        loss(out).backward()
    rec.norms[(0, 0)]          # ‖dL/dh_t‖ of layer 0, forward direction, t = 0 .. T−1

For every RNN/LSTM/GRU layer and direction run inside the ``with`` block, the fused sequence op
fills in, during backward, the norm of the *total* gradient reaching each hidden state h_t: the
gradient from the output at t (the loss, or the next layer) plus the gradient carried back from
step t+1.  The norm is the Frobenius norm over the whole (batch, hidden) slice of step t — for a
packed batch, over the sequences still running at t.  Index t is the time position in the input
for both directions (for the reverse direction step t+1 is *processed* before t, so the carried
gradient comes from t−1).  Vanishing gradients show as norms falling fast towards t = 0,
exploding ones as norms growing.

The recording is switched on for forwards run inside the block (the backward may come later).
Recording costs one dot product per step in backward; without the block nothing is computed.
"""
from __future__ import annotations

import contextlib

import numpy as np


class HiddenGradRecorder:
    """The per-step gradient norms filled in by backward.

    ``by_module[name][(layer, direction)]``: a float64 array of length T (the latest backward
    through that layer); ``norms`` is the same dict for a model with one recurrent module
    (``direction`` 0 is forward, 1 reverse); ``calls`` lists every recording as
    ``(name, layer, direction, norms)`` in the order backward produced them.
    """

    def __init__(self, names):
        self.by_module = {name: {} for name in names}
        self.calls = []

    @property
    def norms(self):
        if len(self.by_module) != 1:
            raise RuntimeError(f"record_hidden_grads: the model has {len(self.by_module)} recurrent "
                               f"modules ({', '.join(repr(n) for n in self.by_module)}); read "
                               "rec.by_module[name] instead of rec.norms")
        return next(iter(self.by_module.values()))

    def clear(self):
        for d in self.by_module.values():
            d.clear()
        self.calls.clear()

    def _callback(self, name, layer, direction):
        def fill(norms):
            norms = np.asarray(norms, dtype=np.float64)
            self.by_module[name][(layer, direction)] = norms
            self.calls.append((name, layer, direction, norms))
        return fill

    def __repr__(self):
        keys = {n: sorted(d) for n, d in self.by_module.items()}
        return f"HiddenGradRecorder({keys})"


@contextlib.contextmanager
def record_hidden_grads(model):
    """Context manager: record ‖dL/dh_t‖ per time step in every recurrent layer of ``model``
    (an RNN/LSTM/GRU, or a Module containing them); yields a :class:`HiddenGradRecorder`."""
    from ..nn.rnn import RNNBase

    found = [(name, m) for name, m in model.named_modules() if isinstance(m, RNNBase)]
    if not found:
        raise ValueError(f"record_hidden_grads: {type(model).__name__} contains no RNN, LSTM or "
                         "GRU module (cells are single steps and are not recorded)")
    rec = HiddenGradRecorder([name for name, _ in found])
    previous = [m.__dict__.get("_grad_recorder") for _, m in found]
    for name, m in found:
        m.__dict__["_grad_recorder"] = (rec, name)
    try:
        yield rec
    finally:
        for (_, m), prev in zip(found, previous):
            if prev is None:
                m.__dict__.pop("_grad_recorder", None)
            else:
                m.__dict__["_grad_recorder"] = prev
