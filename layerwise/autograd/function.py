"""The op contract: one class per differentiable op, forward and backward side by side.

A subclass declares and implements

* ``inputs``: the names of its tensor inputs, e.g. ``("x", "weight", "bias?")``.  A name
  ending in ``?`` is optional: ``apply`` accepts ``None`` for it (or leaves it out at the
  end), and ``forward`` receives ``None``.  ``("*xs",)`` takes any number of inputs.
* ``check(self, *arrays, **options)`` (optional): run by ``apply`` before ``forward``, so a
  bad shape fails with one sentence naming the op instead of deep inside the array library.
* ``forward(self, *arrays, **options) -> array | tuple[array, ...]`` on raw arrays.  What
  backward needs goes through ``self.save_for_backward(*arrays, **state)``: nothing else of
  the instance may hold backward state (a contract test enforces it).
* ``backward(self, *grad_outputs) -> grad | tuple[grad | None, ...]``: one gradient per
  declared input, ``None`` for inputs that need none (``self.needs_input_grad[i]`` says which
  do; it is ``False`` for an absent optional input, and gradients left off the end for absent
  inputs are padded with ``None``).  ``self.saved`` unpacks to the saved arrays, and
  ``self.saved.<name>`` is a named value.
* ``release(self)`` (optional): called when the saved state is freed, to return workspaces.

``Op.apply(*tensors, **options)`` runs forward, wraps the outputs in Tensors and, when any
input requires a gradient and grad mode is on, links them into the graph.  Integer and bool
outputs (indices, masks) never require a gradient.

Saved state.  Arrays saved (by position, or by name at the top level) that are an input's or
output's own storage are protected by the tensor's version counter: an in-place change before
backward raises instead of silently giving a wrong gradient.  (A saved *view* of an input is not
recognised: save the input array itself.)  After backward (unless ``retain_graph=True``) the
saved state of a node that holds any array is freed, and a second backward through it raises;
a node that saved small values only (shapes, dims) can run again, as in torch.
"""
from __future__ import annotations

from ..backend import get_array_module, ignore_float_errors, is_array
from . import grad_mode

_FREED = ("trying to backward through the graph a second time (at {}): its saved arrays were "
          "freed by the first backward; pass retain_graph=True to the first call")


def _holds_array(value):
    if is_array(value):
        return True
    if type(value) in (tuple, list):
        return any(_holds_array(v) for v in value)
    return False


class Saved:
    """What a forward kept for its backward: arrays by position, other state by name.

    ``a, b = saved`` and ``saved[0]`` give the positional entries, ``saved.name`` a named one.
    Once freed, every access raises the "backward a second time" error.
    """

    __slots__ = ("_arrays", "_state", "_freed_at")

    def __init__(self, arrays=(), state=None):
        self._arrays = arrays
        self._state = state or {}
        self._freed_at = None

    def _live(self):
        if self._freed_at is not None:
            raise RuntimeError(_FREED.format(self._freed_at))
        return self._arrays

    def __iter__(self):
        return iter(self._live())

    def __len__(self):
        return len(self._live())

    def __getitem__(self, i):
        return self._live()[i]

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        self._live()
        try:
            return self._state[name]
        except KeyError:
            raise AttributeError(f"nothing named {name!r} was saved for backward") from None

    @property
    def freed(self) -> bool:
        return self._freed_at is not None

    def values(self):
        """Every saved value, positional then named."""
        return tuple(self._live()) + tuple(self._state.values())

    def holds_arrays(self) -> bool:
        return self._freed_at is None and any(_holds_array(v) for v in self.values())

    def free(self, op_name):
        self._arrays, self._state, self._freed_at = (), {}, op_name

    def __repr__(self):
        if self._freed_at is not None:
            return "<saved: freed>"
        names = ", ".join(self._state)
        return f"<saved: {len(self._arrays)} positional{', ' + names if names else ''}>"


_NOTHING = Saved()


def _parse_inputs(names):
    """``inputs`` → (count or None for variadic, positions of the optional ones, bare names)."""
    if names is None:
        return None, (), None
    names = tuple(names)
    if any(n.startswith("*") for n in names):
        if len(names) != 1:
            raise TypeError(f"inputs {names}: a variadic input ('*name') must be the only one")
        return None, (), (names[0][1:],)
    optional = tuple(i for i, n in enumerate(names) if n.endswith("?"))
    return len(names), optional, tuple(n.rstrip("?") for n in names)


class Function:
    #: the names of the tensor inputs; "name?" is optional, ("*name",) variadic, None: any number.
    inputs = None
    #: the outputs are views of input 0: they share its memory and version counter.
    is_view = False

    needs_input_grad: tuple = ()
    saved: Saved = _NOTHING

    #: What an op instance may hold besides nothing: the inputs' grad flags, ``saved``, the
    #: graph links ``apply`` records, and ``is_view`` (an op deciding per call whether its
    #: output is a view, e.g. reshape).  The contract test holds every op to this set.
    GRAPH_ATTRIBUTES = frozenset({"needs_input_grad", "saved", "edges", "input_meta", "n_outputs",
                                  "output_meta", "output_hooks", "saved_versions", "released",
                                  "is_view"})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._n_inputs, cls._optional, cls._input_names = _parse_inputs(cls.inputs)
        cls._has_check = cls.check is not Function.check
        cls._has_release = cls.release is not Function.release

    def save_for_backward(self, *arrays, **state):
        """Keep ``arrays`` (unpacked by ``self.saved``) and named ``state`` (``self.saved.name``)
        for backward: the one place backward state lives.  A later call replaces an earlier one."""
        self.saved = Saved(arrays, state)

    def check(self, *arrays, **options):
        """Validate the inputs before forward (override to raise one sentence naming the op)."""

    def forward(self, *arrays, **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def release(self):
        """Called when the saved state is freed (after backward unless the graph is retained, or
        right after forward when no graph is recorded): hand workspaces back.  It may run more
        than once for a node that saved no arrays.  Nothing to do by default."""

    @property
    def name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------------ apply
    @classmethod
    def _bind(cls, args):
        """The tensors of ``args`` aligned with the declared inputs (None for absent ones)."""
        n = cls._n_inputs
        if n is None or (len(args) == n and not cls._optional):
            return args
        names = cls._input_names
        if len(args) > n:
            raise TypeError(f"{cls.__name__}.apply: takes {n} input(s) ({', '.join(names)}), got "
                            f"{len(args)}")
        args = args + (None,) * (n - len(args))
        for i, t in enumerate(args):
            if t is None and i not in cls._optional:
                raise TypeError(f"{cls.__name__}.apply: input '{names[i]}' is required, got None "
                                f"(or it was left out)")
        return args

    @classmethod
    def apply(cls, *args, **options):
        from ..tensor import Tensor

        inputs = cls._bind(args)
        try:
            arrays = [None if t is None else t.array for t in inputs]
        except AttributeError:
            bad = next(t for t in inputs if t is not None and not isinstance(t, Tensor))
            raise TypeError(f"{cls.__name__}.apply: inputs must be Tensors, got "
                            f"{type(bad).__name__}") from None
        fn = cls()
        if cls._has_check:
            fn.check(*arrays, **options)
        needs = tuple(t is not None and t.requires_grad for t in inputs)
        record = grad_mode.is_grad_enabled() and any(needs)
        fn.needs_input_grad = needs if record else (False,) * len(inputs)
        with ignore_float_errors(get_array_module(*arrays)):     # inf/nan silently, as torch
            out = fn.forward(*arrays, **options)
        multi = isinstance(out, tuple)
        outs = tuple(Tensor._wrap(o, requires_grad=record and o.dtype.kind == "f")
                     for o in (out if multi else (out,)))
        if fn.is_view:
            # A view shares its input's memory and version counter, and remembers how it was
            # made (op, options, which output), so an in-place change of the view can rebase
            # the base's graph too.
            for i, o in enumerate(outs):
                o._version = inputs[0]._version
                o._view_of = (inputs[0], cls, options, i if multi else None)
        if record:
            fn._link(inputs, outs, multi)
        elif cls._has_release:
            fn._free_saved()                 # no graph: workspaces go back at once
        return outs if multi else outs[0]

    def _link(self, inputs, outs, multi):
        """Record this node in the graph: its edges, the metadata backward checks against, and
        the version guards of the saved storages."""
        # Edges to the producers *as they are now*: an in-place op may later rebase an input
        # tensor onto a new node, and this node must still reach the old one.  Only leaves are
        # held as tensors (to accumulate .grad); a non-leaf input is held as (node, output
        # index), so its array is not kept alive by the graph.
        self.edges = tuple(None if not need else (t, None) if t._node is None else (t._node, t._out_idx)
                           for t, need in zip(inputs, self.needs_input_grad))
        self.input_meta = tuple(None if t is None else (t.array.shape, t.array.dtype) for t in inputs)
        self.n_outputs = len(outs)
        self.output_hooks = None
        self.released = False
        if multi:
            self.output_meta = [(o.shape, o.array.dtype) for o in outs]
        saved = self.saved.values() if self.saved is not _NOTHING else ()
        self.saved_versions = [(t._version, t._version[0])
                               for t in (*inputs, *outs)
                               if t is not None and any(a is t.array for a in saved)]
        for i, t in enumerate(outs):
            if t.requires_grad:
                t._node, t._out_idx = self, i

    # ------------------------------------------------------------------ used by the engine
    def check_versions(self):
        for box, expected in getattr(self, "saved_versions", ()):
            if box[0] != expected:
                raise RuntimeError(
                    f"one of the tensors needed for the gradient of {self.name} was modified by an "
                    f"in-place operation (version {box[0]}, expected {expected}); "
                    "clone it before changing it in place")

    def _free_saved(self):
        """Call ``release``, then drop the saved state if it holds arrays (the node cannot run
        again).  Small values only (shapes, dims) are kept: the node may run again, as in torch."""
        self.release()
        if self.saved.holds_arrays():
            self.saved.free(self.name)
            self.released = True

    def __repr__(self):
        return f"<{self.name}Backward0>"
