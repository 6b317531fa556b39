"""Reverse-mode differentiation over the recorded graph.

The graph is a DAG of ``Function`` nodes; a Tensor produced by an op points to
its node (``_node``) and which of the node's outputs it is (``_out_idx``).  A node
points back along ``edges``, fixed when it was recorded: ``(producer node, output
index)`` for a non-leaf input, ``(leaf tensor, None)`` for a leaf, ``None`` for an
input that needs no gradient (or an absent optional one) — so an in-place op that later
rebases a tensor onto a new node does not change what earlier consumers differentiate
through.  ``run_backward`` orders the nodes with an *iterative* depth-first search (a
recursive walk overflows Python's stack past ~1,000 ops), then visits them in
reverse topological order, so a node runs only once every gradient flowing into
it has been summed: a tensor used by several ops gets the sum of their gradients.
"""
from __future__ import annotations

from ..backend import get_array_module, ignore_float_errors
from . import grad_mode


def _topological_order(roots):
    """Nodes reachable from ``roots``, each listed after every node that consumes it."""
    order, visited = [], set()
    stack = [(n, False) for n in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node.released:
            raise RuntimeError(
                f"trying to backward through the graph a second time (at {node.name}): its saved "
                "arrays were freed by the first backward; pass retain_graph=True to the first call")
        for edge in node.edges:
            if edge is not None and edge[1] is not None and id(edge[0]) not in visited:
                stack.append((edge[0], False))
    order.reverse()          # consumers before producers
    return order


def _accumulate(store, key, grad):
    prev = store.get(key)
    store[key] = grad if prev is None else prev + grad


def _key(t):
    """Where the gradient of tensor ``t`` is collected: its (node, output) or the leaf itself."""
    return (id(t._node), t._out_idx) if t._node is not None else id(t)


class _Backward:
    """One backward pass: the gradients in flight, keyed by (node, output) and by leaf."""

    def __init__(self, inputs, retain_graph):
        self.node_grads = {}            # (id(node), out_idx) -> array
        self.leaf_grads = {}            # id(leaf) -> array
        self.leaves = {}
        self.retain_graph = retain_graph
        self.wanted = None if inputs is None else {_key(t): t for t in inputs}
        self.captured = {}

    def seed(self, tensors, grad_tensors):
        """Put the starting gradients in place; return the nodes to start from."""
        roots = []
        for t, g in zip(tensors, grad_tensors):
            if t._node is None:
                self.leaves[id(t)] = t
                _accumulate(self.leaf_grads, id(t), g)
            else:
                roots.append(t._node)
                _accumulate(self.node_grads, (id(t._node), t._out_idx), g)
        return roots

    def run_node(self, node):
        """Backpropagate through one node: its output gradients (after hooks) in, its inputs'
        gradients routed to their producers or leaves, its saved state freed."""
        grads = [self.node_grads.pop((id(node), i), None) for i in range(node.n_outputs)]
        if all(g is None for g in grads):
            return
        if node.output_hooks:
            _run_output_hooks(node, grads)
        if self.wanted is not None:
            for i, g in enumerate(grads):
                if (id(node), i) in self.wanted and g is not None:
                    self.captured[(id(node), i)] = g
        node.check_versions()
        if node.n_outputs > 1:
            grads = [g if g is not None else _zeros_like_output(node, i, grads)
                     for i, g in enumerate(grads)]
        self.route(node, _input_grads(node, node.backward(*grads)))
        if not self.retain_graph:
            node._free_saved()

    def route(self, node, in_grads):
        for edge, g, meta in zip(node.edges, in_grads, node.input_meta):
            if edge is None or g is None:
                continue
            shape, dtype = meta
            if g.shape != shape:
                raise RuntimeError(f"{node.name}.backward returned a gradient of shape "
                                   f"{g.shape} for an input of shape {shape}")
            if g.dtype != dtype:
                g = g.astype(dtype)
            producer, idx = edge
            if idx is None:                       # a leaf tensor
                self.leaves[id(producer)] = producer
                _accumulate(self.leaf_grads, id(producer), g)
            else:
                _accumulate(self.node_grads, (id(producer), idx), g)

    def deliver(self):
        """Leaf gradients after their hooks: captured for ``autograd.grad``, else accumulated
        into ``.grad``."""
        from ..tensor import Tensor

        for key, leaf in self.leaves.items():
            g = self.leaf_grads[key]
            for hook in leaf._hooks or ():
                res = hook(Tensor._wrap(g))
                if res is not None:
                    g = res.array
            if self.wanted is not None:
                if key in self.wanted:
                    self.captured[key] = g
                continue
            if leaf.requires_grad:
                if leaf.grad is None:
                    leaf.grad = Tensor._wrap(g.copy())   # never alias a grad another leaf holds
                else:
                    leaf.grad.array += g

    def results(self, inputs):
        return [self.captured.get(_key(t)) for t in inputs]


def _run_output_hooks(node, grads):
    from ..tensor import Tensor

    for i, hooks in node.output_hooks.items():
        for hook in hooks:
            if grads[i] is not None:
                res = hook(Tensor._wrap(grads[i]))
                if res is not None:
                    grads[i] = res.array


def _input_grads(node, in_grads):
    """``backward``'s result as one gradient per declared input: a single array is a 1-tuple;
    gradients left off the end for absent optional inputs are padded with None."""
    if not isinstance(in_grads, tuple):
        in_grads = (in_grads,)
    n = len(node.edges)
    if len(in_grads) < n and all(m is None for m in node.input_meta[len(in_grads):]):
        in_grads = in_grads + (None,) * (n - len(in_grads))
    if len(in_grads) != n:
        raise RuntimeError(f"{node.name}.backward returned {len(in_grads)} gradients "
                           f"for {n} inputs")
    return in_grads


def _zeros_like_output(node, i, grads):
    shape, dtype = node.output_meta[i]
    xp = get_array_module(*grads)
    return xp.zeros(shape, dtype)


def run_backward(tensors, grad_tensors, retain_graph=False, inputs=None):
    """Backpropagate ``grad_tensors`` from ``tensors``.

    With ``inputs=None`` gradients accumulate into the ``.grad`` of leaf tensors
    (``Tensor.backward``); otherwise the gradients of ``inputs`` are returned and
    no ``.grad`` is touched (``autograd.grad``).
    """
    run = _Backward(inputs, retain_graph)
    roots = run.seed(tensors, grad_tensors)
    xp = get_array_module(*grad_tensors)
    with grad_mode.no_grad(), ignore_float_errors(xp):      # inf/nan silently, as torch
        for node in _topological_order(roots):
            run.run_node(node)
        run.deliver()
    return None if inputs is None else run.results(inputs)
