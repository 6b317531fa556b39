"""The op contract (layerwise/autograd/function.py), checked on every Function subclass.

* Every op declares its inputs by name.
* ``saved`` is the only place backward state lives: after forward and after backward an op's
  instance holds nothing but the contract's own attributes (graph links, ``saved``,
  ``needs_input_grad``); a node that saved arrays has them freed by backward.
* Optional inputs may be None or left off; the engine pads ``needs_input_grad`` and the
  gradients.  ``check()`` runs inside ``apply``; ``release()`` runs when saved state is freed.

Each op runs through one recipe below (its public API where it has one); a new Function
subclass without a recipe fails ``test_every_op_has_a_recipe``.
"""
import importlib
import pkgutil

import numpy as np
import pytest

import layerwise as lw
import layerwise.ops
from layerwise.autograd.function import Function, Saved

F = lw.nn.functional
rng = np.random.default_rng(0)


def t(*shape, lo=-1.0, hi=1.0, grad=True):
    return lw.tensor(rng.uniform(lo, hi, shape), requires_grad=grad)


def idx(values):
    return lw.tensor(np.asarray(values, dtype=np.int64))


def _in_place_on_a_view():
    z = t(3, 4) * 1
    z[0].mul_(2)                          # the view's change rebases z's graph (ViewScatter)
    return z


def _index_put():
    z = t(3, 4) * 1
    z[idx([0, 2])] = t(4)
    return z


def _overwrite():
    z = t(3, 4) * 1
    z.copy_(t(4))
    return z


def _hooked_module():
    m = lw.nn.Linear(3, 2, dtype=lw.float64)
    m.register_full_backward_hook(lambda module, gin, gout: None)
    return m(t(2, 3))


def _packed():
    x = t(4, 2, 3)                                             # (T, B, I)
    packed = lw.nn.utils.rnn.pack_padded_sequence(x, [4, 2])
    out, _ = lw.nn.utils.rnn.pad_packed_sequence(packed)
    return out


def _max_unpool():
    y, i = F.max_pool2d(t(1, 2, 4, 4), 2, return_indices=True)
    return F.max_unpool2d(y, i, 2)


RECIPES = {
    # activations
    "ReLU": lambda: t(3, 4).relu(),
    "LeakyReLU": lambda: F.leaky_relu(t(3, 4), 0.1),
    "PReLU": lambda: F.prelu(t(2, 3, 4), t(3)),
    "Threshold": lambda: F.threshold(t(3, 4), 0.1, 2.0),
    "Hardtanh": lambda: F.hardtanh(t(3, 4, lo=-2, hi=2)),
    "Hardsigmoid": lambda: F.hardsigmoid(t(3, 4, lo=-4, hi=4)),
    "Hardswish": lambda: F.hardswish(t(3, 4, lo=-4, hi=4)),
    "ELU": lambda: F.elu(t(3, 4)),
    "GELU": lambda: F.gelu(t(3, 4)) + F.gelu(t(3, 4), approximate="tanh"),
    "SiLU": lambda: F.silu(t(3, 4)),
    "Mish": lambda: F.mish(t(3, 4)),
    "Softplus": lambda: F.softplus(t(3, 4)),
    "LogSigmoid": lambda: F.logsigmoid(t(3, 4)),
    "Softsign": lambda: F.softsign(t(3, 4)),
    # elementwise
    "Add": lambda: t(3, 4) + t(4),
    "Sub": lambda: t(3, 4) - t(4),
    "Mul": lambda: t(3, 4) * t(4),
    "Div": lambda: t(3, 4) / t(4, lo=1, hi=2),
    "DivRounding": lambda: t(3, 4).div(t(4, lo=1, hi=2), rounding_mode="floor"),
    "Pow": lambda: t(3, 4, lo=0.5, hi=2) ** t(4),
    "Neg": lambda: -t(3, 4),
    "Exp": lambda: t(3, 4).exp(),
    "Log": lambda: t(3, 4, lo=0.5, hi=2).log(),
    "Log1p": lambda: t(3, 4, lo=0, hi=1).log1p(),
    "Sqrt": lambda: t(3, 4, lo=0.5, hi=2).sqrt(),
    "Rsqrt": lambda: t(3, 4, lo=0.5, hi=2).rsqrt(),
    "Abs": lambda: t(3, 4).abs(),
    "Sign": lambda: t(3, 4).sign(),
    "Rounding": lambda: t(3, 4).floor(),
    "Clamp": lambda: t(3, 4).clamp(-0.5, 0.5),
    "ClampTensor": lambda: t(3, 4).clamp(min=t(4, grad=False) * 0.5),
    "Maximum": lambda: lw.maximum(t(3, 4), t(4)),
    "Minimum": lambda: lw.minimum(t(3, 4), t(4)),
    "Where": lambda: lw.where(lw.tensor(rng.uniform(size=(3, 4)) > 0.5), t(3, 4), t(4)),
    "Sin": lambda: t(3, 4).sin(),
    "Cos": lambda: t(3, 4).cos(),
    "Tanh": lambda: t(3, 4).tanh(),
    "Sigmoid": lambda: t(3, 4).sigmoid(),
    "Cast": lambda: t(3, 4).float(),
    "Identity": lambda: t(3, 4).clone(),
    "Overwrite": _overwrite,
    # reductions
    "Sum": lambda: t(3, 4).sum(0),
    "Mean": lambda: t(3, 4).mean(1),
    "Var": lambda: t(3, 4).var(0),
    "Std": lambda: t(3, 4).std(1),
    "Prod": lambda: t(3, 4).prod(1),
    "AmaxAmin": lambda: t(3, 4).amax(0),
    "MaxMinDim": lambda: t(3, 4).max(1)[0],
    "LogSumExp": lambda: t(3, 4).logsumexp(1),
    "Norm": lambda: t(3, 4).norm(),
    "Cumsum": lambda: t(3, 4).cumsum(1),
    # movement
    "Reshape": lambda: t(3, 4).reshape(2, 6),
    "Permute": lambda: t(3, 4).permute(1, 0),
    "Expand": lambda: t(3, 1).expand(3, 4),
    "Repeat": lambda: t(3, 4).repeat(2, 1),
    "Cat": lambda: lw.cat([t(3, 4), t(2, 4)]),
    "Stack": lambda: lw.stack([t(3, 4), t(3, 4)]),
    "Split": lambda: t(3, 4).split(2)[1],
    "Getitem": lambda: t(3, 4)[idx([0, 2, 0])] + t(3, 4)[1],
    "IndexPut": _index_put,
    "Gather": lambda: t(3, 4).gather(1, idx([[0, 1], [2, 3], [1, 1]])),
    "ScatterAdd": lambda: t(3, 4).scatter_add(1, idx([[0, 1], [2, 3], [1, 1]]), t(3, 2)),
    "IndexSelect": lambda: t(3, 4).index_select(0, idx([2, 0, 2])),
    "MaskedFill": lambda: t(3, 4).masked_fill(lw.tensor(rng.uniform(size=(3, 4)) > 0.5), 0.0),
    "Triangle": lambda: t(4, 4).tril(),
    "Flip": lambda: t(3, 4).flip(0),
    "ConstantPad": lambda: F.pad(t(2, 3, 4), (1, 2)),
    "ViewScatter": _in_place_on_a_view,
    # softmax, linear algebra, layers
    "Softmax": lambda: t(3, 4).softmax(1),
    "LogSoftmax": lambda: t(3, 4).log_softmax(1),
    "MatMul": lambda: t(3, 4) @ t(4, 2),
    "LinearOp": lambda: F.linear(t(2, 3), t(4, 3), t(4)),
    "Conv": lambda: F.conv2d(t(2, 3, 5, 5), t(4, 3, 3, 3), t(4)),
    "ConvTranspose": lambda: F.conv_transpose2d(t(2, 3, 4, 4), t(3, 2, 3, 3), t(2), stride=2),
    "Pad": lambda: F.pad(t(1, 2, 4, 4), (1, 1, 2, 0), mode="reflect"),
    "Dropout": lambda: F.dropout(t(3, 4), 0.5, training=True),
    "AlphaDropout": lambda: F.alpha_dropout(t(3, 4), 0.5, training=True),
    "BatchNormOp": lambda: F.batch_norm(t(4, 3, 2), None, None, t(3), t(3), training=True),
    "LayerNormOp": lambda: F.layer_norm(t(2, 3, 4), (4,), t(4), t(4)),
    "RMSNormOp": lambda: F.rms_norm(t(2, 3, 4), (4,), t(4)),
    "GroupNormOp": lambda: F.group_norm(t(2, 4, 3), 2, t(4), t(4)),
    "MaxPool2dOp": lambda: F.max_pool2d(t(1, 2, 4, 4), 2),
    "AvgPool2dOp": lambda: F.avg_pool2d(t(1, 2, 4, 4), 2),
    "AdaptiveAvgPool2dOp": lambda: F.adaptive_avg_pool2d(t(1, 2, 5, 5), 2),
    "AdaptiveMaxPool2dOp": lambda: F.adaptive_max_pool2d(t(1, 2, 5, 5), 2),
    "MaxUnpool2dOp": _max_unpool,
    "EmbeddingOp": lambda: F.embedding(idx([[0, 2], [1, 0]]), t(3, 4)),
    "EmbeddingBagOp": lambda: F.embedding_bag(idx([0, 2, 1, 0]), t(3, 4), idx([0, 2]), mode="sum",
                                              per_sample_weights=t(4)),
    "ScaledDotProductAttention": lambda: F.scaled_dot_product_attention(
        t(2, 3, 4), t(2, 5, 4), t(2, 5, 4), attn_mask=t(3, 5)),
    "RNNSequence": lambda: lw.nn.RNN(3, 4, dtype=lw.float64)(t(5, 2, 3))[0],
    "LSTMSequence": lambda: lw.nn.LSTM(3, 4, proj_size=2, dtype=lw.float64)(t(5, 2, 3))[0],
    "GRUSequence": lambda: lw.nn.GRU(3, 4, dtype=lw.float64)(t(5, 2, 3))[0],
    "GatherRows": _packed,
    "ScatterRows": _packed,
    # losses
    "CrossEntropy": lambda: F.cross_entropy(t(4, 3), idx([0, 2, 1, 1]), label_smoothing=0.1),
    "SoftTargetCrossEntropy": lambda: F.cross_entropy(t(4, 3), t(4, 3, grad=False).softmax(1)),
    "NLLLoss": lambda: F.nll_loss(t(4, 3), idx([0, 2, 1, 1])),
    "BinaryCrossEntropy": lambda: F.binary_cross_entropy(t(4, 3).sigmoid(), t(4, 3, lo=0, hi=1)),
    "BinaryCrossEntropyWithLogits": lambda: F.binary_cross_entropy_with_logits(
        t(4, 3), t(4, 3, lo=0, hi=1)),
    "MSELoss": lambda: F.mse_loss(t(4, 3), t(4, 3)),
    "L1Loss": lambda: F.l1_loss(t(4, 3), t(4, 3)),
    "SmoothL1Loss": lambda: F.smooth_l1_loss(t(4, 3), t(4, 3)),
    "HuberLoss": lambda: F.huber_loss(t(4, 3), t(4, 3)),
    "KLDiv": lambda: F.kl_div(t(4, 3).log_softmax(1), t(4, 3, lo=0.1, hi=1), reduction="batchmean"),
    # outside ops/: the module backward-hook tap
    "_GradTap": _hooked_module,
}


def _all_ops():
    """Every concrete Function subclass in layerwise (abstract bases: a subclass of their own)."""
    for m in pkgutil.iter_modules(layerwise.ops.__path__):
        importlib.import_module(f"layerwise.ops.{m.name}")
    importlib.import_module("layerwise.nn")
    found, stack = {}, list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("layerwise.") and not cls.__subclasses__():
            found[cls.__name__] = cls
    return found


OPS = _all_ops()


def _nodes(outputs):
    """Every node of the graph behind ``outputs``."""
    seen, order = set(), []
    stack = [o._node for o in outputs if o._node is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(e[0] for e in node.edges if e is not None and e[1] is not None)
    return order


def test_every_op_has_a_recipe():
    missing = sorted(set(OPS) - set(RECIPES))
    assert not missing, f"Function subclasses without a recipe in this test: {missing}"
    assert not set(RECIPES) - set(OPS), sorted(set(RECIPES) - set(OPS))


@pytest.mark.parametrize("name", sorted(OPS))
def test_inputs_are_declared_by_name(name):
    inputs = OPS[name].inputs
    assert isinstance(inputs, tuple) and inputs and all(isinstance(n, str) for n in inputs), \
        f"{name}.inputs must name its tensor inputs, got {inputs!r}"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_backward_state_lives_in_saved_only(name):
    out = RECIPES[name]()
    nodes = [n for n in _nodes([out]) if type(n) is OPS[name]]
    assert nodes, f"the recipe for {name} does not run {name}"
    allowed = Function.GRAPH_ATTRIBUTES
    held = {}
    for n in nodes:
        extra = set(vars(n)) - allowed
        assert not extra, f"{name} keeps {sorted(extra)} outside saved after forward"
        assert isinstance(n.saved, Saved)
        held[id(n)] = n.saved.holds_arrays()
    (out.float() * lw.tensor(rng.standard_normal(tuple(out.shape)), dtype=lw.float32)).sum().backward()
    for n in nodes:
        extra = set(vars(n)) - allowed
        assert not extra, f"{name} keeps {sorted(extra)} outside saved after backward"
        if held[id(n)]:
            assert n.saved.freed and n.released, f"{name}'s saved arrays were not freed"


# ---------------------------------------------------------------------- apply and the engine
def test_optional_inputs_may_be_none_or_left_off_and_are_padded():
    from layerwise.ops.linear import LinearOp
    x, w = t(2, 3), t(4, 3)
    for y in (LinearOp.apply(x, w), LinearOp.apply(x, w, None)):
        assert y.grad_fn.needs_input_grad == (True, True, False)
        assert y.grad_fn.edges[2] is None and y.grad_fn.input_meta[2] is None
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), x.detach().numpy().sum(0)[None].repeat(4, 0))


def test_a_backward_may_leave_off_gradients_of_absent_inputs_only():
    class Scale(Function):
        inputs = ("x", "scale?")

        def forward(self, x, s=None):
            return x * 2

        def backward(self, g):
            return (g * 2,)                   # nothing for the absent "scale": padded with None

    x = t(3)
    Scale.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    with pytest.raises(RuntimeError, match="Scale.backward returned 1 gradients for 2 inputs"):
        Scale.apply(t(3), t(3)).sum().backward()


def test_apply_names_the_op_when_inputs_are_missing_or_too_many():
    from layerwise.ops.linear import LinearOp
    with pytest.raises(TypeError, match=r"LinearOp.apply: input 'weight' is required"):
        LinearOp.apply(t(2, 3))
    with pytest.raises(TypeError, match=r"LinearOp.apply: takes 3 input\(s\) \(x, weight, bias\), got 4"):
        LinearOp.apply(t(2, 3), t(4, 3), t(4), t(4))
    with pytest.raises(TypeError, match="LinearOp.apply: inputs must be Tensors, got ndarray"):
        LinearOp.apply(t(2, 3), np.ones((4, 3)))


@pytest.mark.parametrize("call, message", [
    (lambda: __import__("layerwise.ops.conv", fromlist=["Conv"]).Conv.apply(
        t(2, 4, 5, 5), t(6, 3, 3, 3), stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1),
        groups=1), r"Conv: expected an input with 3 channels for a weight of shape \(6, 3, 3, 3\)"),
    (lambda: __import__("layerwise.ops.conv", fromlist=["Conv"]).Conv.apply(
        t(4, 5, 5), t(6, 4, 3, 3), stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1),
        groups=1), r"Conv: expected an input \(N, C, \*spatial\)"),
    (lambda: __import__("layerwise.ops.conv", fromlist=["ConvTranspose"]).ConvTranspose.apply(
        t(2, 4, 5, 5), t(3, 2, 3, 3), stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1),
        groups=1, out_spatial=(7, 7)), r"ConvTranspose: expected an input with 3 channels"),
    (lambda: __import__("layerwise.ops.linear", fromlist=["LinearOp"]).LinearOp.apply(
        t(2, 5), t(4, 3)), r"LinearOp: expected an input \(\*, 3\)"),
    (lambda: __import__("layerwise.ops.batchnorm", fromlist=["BatchNormOp"]).BatchNormOp.apply(
        t(4, 3, 2), t(2)), r"BatchNormOp: expected a weight of shape \(3,\)"),
    (lambda: __import__("layerwise.ops.norm", fromlist=["LayerNormOp"]).LayerNormOp.apply(
        t(2, 3, 4), t(5), rows=(6, 4), layout=(6, 4, 1), eps=1e-5),
     r"LayerNormOp: expected a weight of 4 values"),
    (lambda: __import__("layerwise.ops.embedding", fromlist=["EmbeddingOp"]).EmbeddingOp.apply(
        t(3, 4), t(2)), r"EmbeddingOp: expected a weight \(V, D\) and integer indices"),
    (lambda: __import__("layerwise.ops.attention", fromlist=["A"]).ScaledDotProductAttention.apply(
        t(2, 3, 4), t(2, 5, 3), t(2, 5, 4), scale=0.5), r"ScaledDotProductAttention: expected query"),
])
def test_check_runs_inside_apply_and_names_the_op(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_second_backward_through_freed_arrays_says_so():
    y = t(3).exp().sum()
    node = y.grad_fn.edges[0][0]
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time \(at Exp\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"a second time \(at Exp\)"):
        tuple(node.saved)
    with pytest.raises(RuntimeError, match=r"a second time \(at Exp\)"):
        node.saved[0]


def test_small_saved_values_survive_backward_so_the_node_can_run_again():
    x = t(3, 4)
    y = x.reshape(12).sum()
    y.backward()
    y.backward()                                   # Reshape and Sum saved shapes only
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2.0))


def test_saved_names_what_is_missing():
    y = t(3).exp()
    with pytest.raises(AttributeError, match="nothing named 'mask' was saved for backward"):
        y.grad_fn.saved.mask


class Counting(Function):
    """z = 3x, saving x; counts release() calls."""

    inputs = ("x",)
    calls = []

    def forward(self, x):
        self.save_for_backward(x)
        return x * 3

    def backward(self, g):
        return g * 3

    def release(self):
        Counting.calls.append(self.saved.freed)


def test_release_runs_when_saved_state_is_freed_and_without_a_graph():
    Counting.calls.clear()
    x = t(3)
    y = Counting.apply(x).sum()
    assert Counting.calls == []
    y.backward(retain_graph=True)
    assert Counting.calls == []                   # a retained graph keeps its workspaces
    y.backward()
    assert Counting.calls == [False]              # called before the arrays are dropped
    with lw.no_grad():
        Counting.apply(x)
    assert Counting.calls == [False, False]


def test_version_guard_covers_arrays_saved_by_name():
    class ByName(Function):
        inputs = ("x",)

        def forward(self, x):
            self.save_for_backward(x=x)
            return x * x

        def backward(self, g):
            return 2 * g * self.saved.x

    x = t(3)
    h = x * 1
    y = ByName.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="needed for the gradient of ByName was modified"):
        y.sum().backward()
