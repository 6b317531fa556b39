"""The autograd engine against torch: deep chains, reuse and diamonds, retain_graph, freeing of
saved arrays, grad modes, hooks, autograd.grad, in-place ops with the version counter and views,
and proof that gradcheck can fail."""
import gc
import weakref

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.autograd import Function
from parity import const, gradcheck, parity, rand


def leaf(values, dtype=lw.float64):
    return lw.tensor(values, dtype=dtype, requires_grad=True)


# ------------------------------------------------------------------ graph shapes
def test_ten_thousand_op_chain():
    x = leaf([0.5, -1.0])
    y = x
    for i in range(10_000):
        y = y * 1.0001 if i % 2 else y + 0.001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 5000] * 2, rtol=1e-12)


def test_reused_tensor_sums_gradients():
    parity(lambda m, x: x * x + m.exp(x) + m.sin(x) * x - x, rand(3, 4))
    parity(lambda m, x, w: (x @ w) * x.sum() + (x * 2) @ w, rand(3, 3), rand(3, 3))
    x = leaf([2.0])
    (x + x + x).backward()
    assert x.grad.tolist() == [3.0]


def test_diamond_graphs():
    def diamond(m, x):
        a = x * 2
        b, c = m.exp(a), m.sin(a)
        d = b * c
        return d + a
    parity(diamond, rand(5))

    def nested(m, x, y):
        a = x * y
        b = a + x
        c = a * b
        d = c.sum(0) + b.mean(0)
        return d * a[0]
    parity(nested, rand(3, 4), rand(4))


def test_multi_output_op_with_unused_outputs():
    parity(lambda m, x: x.split(2, 1)[1] * 3, rand(3, 5))
    parity(lambda m, x: m.max(x, 1)[0], rand(3, 5))
    parity(lambda m, x: [p * (i + 1) for i, p in enumerate(x.unbind(0))][::2], rand(4, 2))


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_gradient_dtype_follows_the_leaf():
    x = leaf([1.0, 2.0], dtype=lw.float32)
    (x.double() * lw.tensor([2.0, 3.0], dtype=lw.float64)).sum().backward()
    assert x.grad.dtype == lw.float32 and x.grad.tolist() == [2.0, 3.0]


def test_leaf_grad_is_not_aliased():
    a, b = leaf([1.0]), leaf([2.0])
    (a + b).sum().backward()
    a.grad.array[0] = 100.0
    assert b.grad.tolist() == [1.0]


# ------------------------------------------------------------------ retain_graph & memory
def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_accumulates():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g)
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ty = (tx.exp() * tx).sum()
    ty.backward(retain_graph=True)
    ty.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_graph_without_saved_arrays_can_run_twice_like_torch():
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_saved_arrays_are_freed_after_backward():
    x = leaf(np.linspace(0, 1, 100_000))
    y = x.exp()                                   # saves its output array
    node = y.grad_fn
    ref = weakref.ref(node.saved[0])
    loss = (y * 2).sum()
    del y
    gc.collect()
    assert ref() is not None                      # alive while backward still needs it
    loss.backward()
    gc.collect()
    assert node.saved.freed and ref() is None     # dropped, although loss (the graph) is alive
    assert loss.grad_fn is not None


def test_graph_does_not_keep_intermediate_arrays_alive():
    """Non-leaf inputs are linked by node, not by tensor: an intermediate's array is not
    kept by the graph unless an op saved it."""
    x = leaf(np.ones(1000))
    h = x + 1                                     # Add saves nothing
    ref = weakref.ref(h.array)
    loss = (h * 3).sum()                          # Mul by a constant saves only the constant
    del h
    gc.collect()
    assert ref() is None
    loss.backward()
    assert x.grad.tolist() == [3.0] * 1000


# ------------------------------------------------------------------ grad modes
def test_no_grad_context_and_decorator():
    x = leaf([1.0])
    with lw.no_grad():
        y = x * 2
        assert not lw.is_grad_enabled()
    assert lw.is_grad_enabled() and not y.requires_grad and y.grad_fn is None

    @lw.no_grad()
    def f(t):
        return t * 3, lw.is_grad_enabled()
    z, enabled = f(x)
    assert not z.requires_grad and not enabled and lw.is_grad_enabled()
    assert f.__name__ == "f"


def test_enable_grad_inside_no_grad_and_nesting():
    x = leaf([1.0])
    with lw.no_grad():
        with lw.enable_grad():
            y = x * 2
        z = x * 2
        with lw.no_grad():
            pass
        assert not lw.is_grad_enabled()
    assert y.requires_grad and not z.requires_grad

    @lw.enable_grad()
    def g(t):
        return t * 2
    with lw.no_grad():
        assert g(x).requires_grad


def test_set_grad_enabled():
    x = leaf([1.0])
    with lw.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    lw.set_grad_enabled(False)
    try:
        assert not lw.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        lw.set_grad_enabled(True)
    with lw.set_grad_enabled(True):
        assert (x * 2).requires_grad
    with lw.no_grad():
        with lw.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not lw.is_grad_enabled()


def test_grad_mode_decorators_with_and_without_parentheses():
    x = leaf([1.0])

    @lw.no_grad
    def bare(t):
        return t * 2

    @lw.set_grad_enabled(False)
    def off(t):
        return t * 2
    assert lw.is_grad_enabled()                  # decorating does not switch the mode
    assert not bare(x).requires_grad and not off(x).requires_grad
    assert lw.is_grad_enabled() and (x * 2).requires_grad

    @lw.enable_grad
    def on(t):
        return t * 2
    with lw.no_grad():
        assert on(x).requires_grad


def test_no_grad_restores_on_exception():
    with pytest.raises(ValueError):
        with lw.no_grad():
            raise ValueError
    assert lw.is_grad_enabled()


def test_requires_grad_():
    x = lw.ones(2)
    assert not (x * 2).requires_grad
    assert x.requires_grad_() is x
    y = x * 2
    assert y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


# ------------------------------------------------------------------ backward arguments
def test_backward_with_gradient_argument():
    parity(lambda m, x: x * x, rand(2, 3))                  # harness seeds a random gradient
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(gradient=lw.tensor([1.0, 0.0, -1.0], dtype=lw.float64))
    assert x.grad.tolist() == [2.0, 0.0, -6.0]
    x.grad = None
    (x * 2).backward(lw.tensor([1.0, 1.0, 1.0], dtype=lw.float32))     # cast to the output's dtype
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_backward_errors():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(3,\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\).*shape \(3,\)"):
        (x * 2).backward(lw.ones(2, dtype=lw.float64))
    with pytest.raises(RuntimeError, match="does not require grad"):
        lw.ones(2).sum().backward()
    with pytest.raises(NotImplementedError, match="create_graph"):
        (x * 2).sum().backward(create_graph=True)


def test_backward_inputs_argument():
    a, b = leaf([1.0]), leaf([2.0])
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [2.0] and b.grad is None


# ------------------------------------------------------------------ hooks
def test_hook_on_leaf_modifies_grad():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    h = x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    assert seen == [[2.0, 4.0]] and x.grad.tolist() == [20.0, 40.0]
    h.remove()
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_hook_on_non_leaf_changes_upstream_gradient_like_torch():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        y = x * x
        y.register_hook(lambda g: g * m.tensor([1.0, 0.0, 2.0], dtype=m.float64))
        z = y.exp().sum() + y.sum()
        z.backward()
        return x.grad.numpy()
    np.testing.assert_allclose(run(lw), run(torch), rtol=1e-12)


def test_retain_grad_on_non_leaf():
    def run(m):
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = x * 3
        y.retain_grad()
        z = y * y + y
        z.sum().backward()
        return y.grad.numpy(), x.grad.numpy()
    for a, b in zip(run(lw), run(torch)):
        np.testing.assert_allclose(a, b)
    y = (leaf([1.0]) * 2)
    assert y.grad is None
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        lw.ones(2).register_hook(lambda g: g)


# ------------------------------------------------------------------ autograd.grad
def test_autograd_grad_does_not_touch_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    y = (x * w).sum() + (x * x).sum()
    gx, gw = lw.autograd.grad(y, [x, w])
    assert gx.tolist() == [5.0, 3.0] and gw.tolist() == [1.0, 2.0]
    assert x.grad is None and w.grad is None
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    h = tx * tx
    (tg,) = torch.autograd.grad(h, tx, grad_outputs=torch.tensor([1.0, -1.0]))
    lx = leaf([1.0, 2.0], dtype=lw.float32)
    (lg,) = lw.autograd.grad(lx * lx, lx, grad_outputs=lw.tensor([1.0, -1.0]))
    assert lg.tolist() == tg.tolist()


def test_autograd_grad_of_intermediate_and_unused():
    x = leaf([1.0, 2.0])
    h = x * 2
    y = (h * h).sum()
    (gh,) = lw.autograd.grad(y, h, retain_graph=True)
    assert gh.tolist() == [4.0, 8.0]
    u = leaf([0.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        lw.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = lw.autograd.grad(y, [x, u], allow_unused=True)
    assert gx.tolist() == [8.0, 16.0] and gu is None


def test_autograd_grad_create_graph_not_implemented():
    x = leaf([1.0])
    with pytest.raises(NotImplementedError, match="create_graph"):
        lw.autograd.grad((x * x).sum(), x, create_graph=True)


# ------------------------------------------------------------------ in-place & version counter
def test_modifying_saved_output_raises():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="gradient of Exp was modified by an in-place operation"):
        y.sum().backward()


def test_modifying_saved_input_raises():
    a = leaf([1.0, 2.0])
    b = a * 1                               # non-leaf
    y = a * b                               # saves b for a's gradient
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_modifying_through_a_view_or_detach_raises():
    a = leaf([[1.0, 2.0], [3.0, 4.0]])
    b = a * 1
    y = (b * a).sum()
    b[0, 0] = 5.0                           # the same storage, the same version counter
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()
    c = (a * 1).exp()
    c.detach().zero_()                     # detach shares the version counter
    with pytest.raises(RuntimeError, match="in-place"):
        c.sum().backward()


def test_modifying_the_base_of_a_saved_split_piece_raises():
    a = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = a * 1
    top, bottom = y.split(1, 0)
    z = (bottom * a[1]).sum()             # saves bottom, a view of y
    y.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        z.backward()


@pytest.mark.parametrize("op", [lambda y: y.split(2, 1)[1].mul_(2.0), lambda y: y.unbind(0)[2].add_(1.0),
                                lambda y: y.chunk(2, 0)[0][1].zero_()])
def test_in_place_on_a_multi_output_view_raises_like_torch(op):
    for m in (torch, lw):
        y = m.ones(3, 4, requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="returns multiple views"):
            op(y)
    with lw.no_grad():                          # allowed without recording
        y = lw.ones(3, 4)
        op(y)


def test_in_place_on_leaf_requiring_grad_raises():
    x = leaf([1.0, 2.0])
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(), lambda: x.fill_(3.0),
               lambda: x.copy_(lw.ones(2)), lambda: x.__setitem__(0, 5.0), lambda: x[0:1].mul_(2),
               lambda: x.uniform_(), lambda: x.normal_()):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            op()
    with lw.no_grad():                     # allowed without recording (optimizer steps)
        x.add_(1)
        x.zero_()
        x[1] = 4.0
    assert x.tolist() == [0.0, 4.0] and x.is_leaf


SAFE_INPLACE = {
    "add_": lambda y, w: y.add_(w),
    "add_alpha": lambda y, w: y.add_(w, alpha=-2.0),
    "sub_": lambda y, w: y.sub_(w),
    "mul_": lambda y, w: y.mul_(w),
    "div_": lambda y, w: y.div_(w * w + 1),
    "iadd": lambda y, w: y.__iadd__(w),
    "imul": lambda y, w: y.__imul__(w),
    "isub": lambda y, w: y.__isub__(2.0),
    "itruediv": lambda y, w: y.__itruediv__(4.0),
    "clamp_": lambda y, w: y.clamp_(-0.5, 0.5),
    "pow_": lambda y, w: y.pow_(2),
    "zero_": lambda y, w: y.zero_(),
    "fill_": lambda y, w: y.fill_(2.5),
    "fill_tensor": lambda y, w: y.fill_(w.sum()),
    "copy_": lambda y, w: y.copy_(w),
    "copy_broadcast": lambda y, w: y.copy_(w[0]),
    "masked_fill_": lambda y, w: y.masked_fill_(w > 0, 0.0),
    "setitem_int": lambda y, w: y.__setitem__(1, w[0]),
    "setitem_slice": lambda y, w: y.__setitem__((slice(None), slice(1, 3)), w[:, :2] * 2),
    "setitem_adv": lambda y, w: y.__setitem__(_lib(y).tensor([2, 0]), w[:2]),
    "setitem_mask": lambda y, w: y.__setitem__(w > 0, 1.0),
    "setitem_mask_value": lambda y, w: y.__setitem__(y > 0, w[y > 0]),
    "view_mul_": lambda y, w: y[0].mul_(w[0]),
    "view_slice_add_": lambda y, w: y[:, 1:].add_(w[:, 1:]),
    "view_of_view": lambda y, w: y[1:][0].mul_(3.0),
    "view_reshape": lambda y, w: y.view(-1)[2:5].mul_(w.reshape(-1)[:3]),
    "view_transpose": lambda y, w: y.t()[1].zero_(),
    "view_setitem": lambda y, w: y[1].__setitem__(slice(0, 2), w[0, :2]),
    "twice": lambda y, w: y.mul_(w).add_(y.detach()),
    "view_int_int": lambda y, w: y[0, 2].mul_(w[0, 0]),
    "view_chain_int": lambda y, w: y[1][1].add_(w[2, 2]),
    "iadd_item": lambda y, w: y.__setitem__((0, 1), y[0, 1].__iadd__(w[1, 1])),
    "view_fill_": lambda y, w: y[2].fill_(w[0, 3]),
    "view_copy_": lambda y, w: y[:, 0].copy_(w[0, :3]),
}


def _lib(t):
    return torch if isinstance(t, torch.Tensor) else lw


@pytest.mark.parametrize("name", SAFE_INPLACE)
def test_safe_in_place_gives_torch_gradients(name):
    op = SAFE_INPLACE[name]

    def f(m, x, w):
        y = x * 1.5                          # a non-leaf that can be changed in place
        op(y, w)
        return y * x                         # y used after the change, with x again
    parity(f, rand(3, 4), rand(3, 4, seed=1), what=name)


def test_in_place_keeps_earlier_consumers_on_the_old_graph():
    """z used y before y.mul_(w): z's gradient must not flow into w (torch's answer)."""
    def f(m, x, w):
        y = x * 2
        z = y * 3
        y.mul_(w)
        return z + y
    parity(f, rand(3), rand(3, seed=1))

    def g(m, x, w):
        y = x * 2
        z = y.sum() * 3
        y.mul_(w)
        return z
    parity(g, rand(3), rand(3, seed=1))


def test_in_place_on_tensor_without_grad_joins_the_graph():
    def f(m, w):
        y = m.zeros(3, 4, dtype=w.dtype)
        y[1] = w[0]
        y.add_(w)
        return y
    parity(f, rand(3, 4))


def test_in_place_shape_and_dtype_errors():
    y = lw.ones(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        y.add_(lw.ones(2, 3))
    i = lw.ones(3, dtype=lw.int64)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(1.5)
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        y.copy_(lw.ones(4))
    with pytest.raises(RuntimeError, match="not writable"):
        lw.ones(3)[None].expand(2, 3).add_(1)


def test_version_counter_counts():
    x = lw.ones(3)
    v = x[1:]
    assert x._version[0] == 0
    x.add_(1)
    v.mul_(2)
    x[0] = 0.0
    x.zero_()
    assert x._version[0] == 4 and v._version is x._version


# ------------------------------------------------------------------ gradcheck itself
class WrongSquare(Function):
    """z = x²  with a deliberately wrong backward (2x + 0.01)."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, g):
        (x,) = self.saved
        return g * (2 * x + 0.01)


class RightSquare(WrongSquare):
    def backward(self, g):
        (x,) = self.saved
        return g * 2 * x


def test_gradcheck_catches_a_wrong_backward():
    x = rand(3, 4)
    assert gradcheck(lambda m, x: RightSquare.apply(x), x)
    with pytest.raises(AssertionError, match="gradcheck failed"):
        gradcheck(lambda m, x: WrongSquare.apply(x), x)
    assert gradcheck(lambda m, x: WrongSquare.apply(x), x, raise_exception=False) is False


def test_gradcheck_catches_a_missing_broadcast_sum():
    class BadAdd(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, g):                # forgets to sum b's gradient over the broadcast
            return g, g[0]
    with pytest.raises(AssertionError, match="gradcheck failed"):
        gradcheck(lambda m, a, b: BadAdd.apply(a, b), rand(3, 2), rand(2))


def test_gradcheck_rejects_float32_and_no_grad_inputs():
    with pytest.raises(ValueError, match="float64"):
        lw.autograd.gradcheck(lambda x: x * 2, [lw.ones(2, requires_grad=True)])
    with pytest.raises(ValueError, match="no input requires grad"):
        lw.autograd.gradcheck(lambda x: x * 2, [lw.ones(2, dtype=lw.float64)])


def test_engine_checks_backward_shapes():
    class BadShape(Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g.sum(0)
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape \(2,\) "
                                           r"for an input of shape \(2, 2\)"):
        BadShape.apply(x).sum().backward()


def test_harness_constants_get_no_gradient():
    parity(lambda m, x, i: x[i] * 2, rand(4), const(np.array([0, 0, 3])))
