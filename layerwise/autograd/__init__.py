"""Autograd: the op contract (``Function``), the engine, grad modes, ``grad`` and ``gradcheck``."""
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated)."""
    from ..backend import asarray, get_array_module
    from ..tensor import Tensor
    from .engine import run_backward

    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): layerwise has no double "
                                  "backward yet (no op defines a differentiable backward)")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    gs = []
    for o, g in zip(outputs, grad_outputs):
        if not o.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if o.numel() != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; got "
                                   f"shape {tuple(o.shape)}: pass grad_outputs=")
            g = get_array_module(o.array).ones(o.array.shape, o.array.dtype)
        else:
            g = g.array if isinstance(g, Tensor) else asarray(g, o.array.dtype,
                                                                  xp=get_array_module(o.array))
        gs.append(g)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("one of the differentiated Tensors does not require grad")
    res = run_backward(outputs, gs, retain_graph=bool(retain_graph), inputs=inputs)
    out = []
    for t, g in zip(inputs, res):
        if g is None and not allow_unused:
            raise RuntimeError("one of the differentiated Tensors appears to not have been used in "
                               "the graph; set allow_unused=True if this is intended")
        out.append(None if g is None else Tensor._wrap(g))
    return tuple(out)


from .gradcheck import gradcheck  # noqa: E402
