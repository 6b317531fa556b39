"""Reverse-mode differentiation over the recorded graph.

The graph is a DAG of ``Function`` nodes; a Tensor produced by an op points to
its node (``_node``) and which of the node's outputs it is (``_out_idx``).  A node
points back along ``edges``, fixed when it was recorded: ``(producer node, output
index)`` for a non-leaf input, ``(leaf tensor, None)`` for a leaf, ``None`` for an
input that needs no gradient — so an in-place op that later rebases a tensor onto
a new node does not change what earlier consumers differentiate through.
``run_backward`` orders the nodes with an *iterative* depth-first search (a
recursive walk overflows Python's stack past ~1,000 ops), then visits them in
reverse topological order, so a node runs only once every gradient flowing into
it has been summed: a tensor used by several ops gets the sum of their gradients.
"""
from __future__ import annotations

from ..backend import xp
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


def run_backward(tensors, grad_tensors, retain_graph=False, inputs=None):
    """Backpropagate ``grad_tensors`` from ``tensors``.

    With ``inputs=None`` gradients accumulate into the ``.grad`` of leaf tensors
    (``Tensor.backward``); otherwise the gradients of ``inputs`` are returned and
    no ``.grad`` is touched (``autograd.grad``).
    """
    from ..tensor import Tensor

    node_grads = {}            # (id(node), out_idx) -> array
    leaf_grads = {}            # id(leaf) -> array
    leaves = {}
    roots = []
    for t, g in zip(tensors, grad_tensors):
        if t._node is None:
            leaves[id(t)] = t
            _accumulate(leaf_grads, id(t), g)
        else:
            roots.append(t._node)
            _accumulate(node_grads, (id(t._node), t._out_idx), g)

    wanted = None
    if inputs is not None:
        wanted = {}
        for t in inputs:
            wanted[(id(t._node), t._out_idx) if t._node is not None else id(t)] = t

    captured = {}
    with grad_mode.no_grad(), xp.errstate(all="ignore"):      # inf/nan silently, as torch
        for node in _topological_order(roots):
            grads = [node_grads.pop((id(node), i), None) for i in range(node.n_outputs)]
            if all(g is None for g in grads):
                continue
            if node.output_hooks:
                for i, hooks in node.output_hooks.items():
                    for hook in hooks:
                        if grads[i] is not None:
                            res = hook(Tensor._wrap(grads[i]))
                            if res is not None:
                                grads[i] = res.array
            if wanted is not None:
                for i, g in enumerate(grads):
                    if (id(node), i) in wanted and g is not None:
                        captured[(id(node), i)] = g
            node.check_versions()
            if node.n_outputs > 1:
                grads = [g if g is not None else _zeros_like_output(node, i) for i, g in enumerate(grads)]
            in_grads = node.backward(*grads)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if len(in_grads) != len(node.edges):
                raise RuntimeError(f"{node.name}.backward returned {len(in_grads)} gradients "
                                   f"for {len(node.edges)} inputs")
            for edge, g, (shape, dtype) in zip(node.edges, in_grads, node.input_meta):
                if edge is None or g is None:
                    continue
                if g.shape != shape:
                    raise RuntimeError(f"{node.name}.backward returned a gradient of shape "
                                       f"{g.shape} for an input of shape {shape}")
                if g.dtype != dtype:
                    g = g.astype(dtype)
                producer, idx = edge
                if idx is None:                       # a leaf tensor
                    leaves[id(producer)] = producer
                    _accumulate(leaf_grads, id(producer), g)
                else:
                    _accumulate(node_grads, (id(producer), idx), g)
            if not retain_graph and node.saved:
                # Free the saved arrays.  A node that saved nothing can be run again, as in torch.
                node.saved = None
                node.released = True

        for key, leaf in leaves.items():
            g = leaf_grads[key]
            for hook in leaf._hooks or ():
                res = hook(Tensor._wrap(g))
                if res is not None:
                    g = res.array
            if wanted is not None:
                if key in wanted:
                    captured[key] = g
                continue
            if leaf.requires_grad:
                if leaf.grad is None:
                    leaf.grad = Tensor._wrap(g.copy())   # never alias a grad another leaf holds
                else:
                    leaf.grad.array += g
    if wanted is None:
        return None
    return [captured.get((id(t._node), t._out_idx) if t._node is not None else id(t)) for t in inputs]


def _zeros_like_output(node, i):
    shape, dtype = node.output_meta[i]
    return xp.zeros(shape, dtype)
