"""The Optimizer base class: parameter groups, per-parameter state, state_dict round trips.

Follows ``torch.optim.Optimizer``'s public API and its state-dict layout::

    {'state': {0: {'step': tensor(3.), 'exp_avg': ..., ...}, 1: {...}},
     'param_groups': [{'lr': 0.001, ..., 'params': [0, 1]}, {..., 'params': [2]}]}

Parameters are numbered in order of appearance across the groups.  State values
are layerwise Tensors; a ``step`` counter is a 0-d floating Tensor as in torch
(float32, or float64 when the default dtype is float64), which counts exactly up
to 2**24 steps and round-trips through torch's own state dicts.

Updates run on the raw arrays (``p.array``) in place, with NumPy ufuncs writing
into preallocated state buffers and a per-optimizer scratch workspace, so no
graph is built and the parameter's dtype is kept.  Each changed parameter's
version counter is bumped.

Writing an optimizer on this base::

    class MyOpt(Optimizer):
        def __init__(self, params, lr=1e-3):
            super().__init__(params, dict(lr=lr))

        def _check_group(self, group):         # optional: validate a group's options
            ...

        def _group_options(self, group):       # read a group once per step (Python floats)
            return float(group['lr'])

        def _update(self, p, grad, opts):      # p: Tensor, grad: ndarray; update p.array in place
            ...                                # state lives in self.state[p]

``step()`` runs the closure under ``enable_grad``, then calls ``_update`` for
every parameter whose ``.grad`` is not None and bumps its version.  Subclasses
may instead override ``step`` entirely, as with torch.

Hooks, as torch's: ``register_step_pre_hook(hook)`` — ``hook(optimizer, args, kwargs)``
before each step (``args`` are step's positional arguments, the optimizer itself first),
returning None or a new ``(args, kwargs)``; ``register_step_post_hook``
— the same after it; ``register_state_dict_pre_hook`` / ``_post_hook`` (the post hook may
return a replacement state dict) and ``register_load_state_dict_pre_hook`` (may return a
replacement state dict) / ``_post_hook``.  ``register_optimizer_step_pre_hook`` /
``_post_hook`` register hooks for every optimizer (global pre hooks run before an
optimizer's own, global post hooks after).  Each returns a handle whose ``remove()``
unregisters it.  A learning-rate scheduler
reads and writes ``group['lr']`` (and may add keys such as ``'initial_lr'``,
which are kept in the groups and in state dicts).
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from itertools import chain

from .. import dtypes as _dt
from .._hooks import _HookDict
from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import xp
from ..tensor import Tensor


class _RequiredParameter:
    """Singleton marking an option that every parameter group must set (as torch.optim.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(x) -> str:
    t = type(x)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _scalar_dtype():
    """The dtype of ``step`` counters: float64 if that is the default dtype, else float32 (as torch)."""
    return xp.float64 if _dt.get_default_dtype() is _dt.float64 else xp.float32


def _check_nonnegative(lr, **options):
    """Raise torch's ``ValueError`` for a negative learning rate or option.

    ``options`` map torch's wording to values: ``eps=`` reads "Invalid epsilon value: …",
    any other ``name=`` reads "Invalid name value: …".
    """
    if not 0.0 <= _as_float(lr, "lr"):
        raise ValueError(f"Invalid learning rate: {lr}")
    for name, value in options.items():
        if not 0.0 <= value:
            label = "epsilon" if name == "eps" else name
            raise ValueError(f"Invalid {label} value: {value}")


def _as_float(value, name):
    """A hyper-parameter as a Python float (accepts one-element Tensors, as torch accepts Tensor lr)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        return float(value.item())
    return float(value)


_global_step_pre_hooks = _HookDict()
_global_step_post_hooks = _HookDict()

_HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
               "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
               "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks")


def register_optimizer_step_pre_hook(hook):
    """Run ``hook(optimizer, args, kwargs)`` before every optimizer's step (see Optimizer)."""
    return _global_step_pre_hooks.add(hook)


def register_optimizer_step_post_hook(hook):
    """Run ``hook(optimizer, args, kwargs)`` after every optimizer's step."""
    return _global_step_post_hooks.add(hook)


def _with_step_hooks(step):
    """Wrap a ``step`` method so that the pre and post hooks run around it (once, even when a
    subclass's step calls ``super().step()``)."""
    def wrapped(self, *args, **kwargs):
        if getattr(self, "_in_hooked_step", False):
            return step(self, *args, **kwargs)
        args = (self, *args)                 # as torch, the hooks' args start with the optimizer
        hooks = self._hooks("_optimizer_step_pre_hooks")
        for hook in chain(_global_step_pre_hooks.values(), hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
                args, kwargs = result
        self._in_hooked_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_hooked_step = False
        for hook in chain(self._hooks("_optimizer_step_post_hooks").values(),
                          _global_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    wrapped.__name__, wrapped.__qualname__ = step.__name__, step.__qualname__
    wrapped.__doc__, wrapped._with_hooks = step.__doc__, True
    return wrapped


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``).

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts
            (parameter groups: ``{'params': [...], 'lr': ..., ...}``; options a group
            does not set come from ``defaults``).
        defaults: the default value of every option.

    Attributes:
        param_groups: list of dicts, each with ``'params'`` and every option.
        state: ``defaultdict(dict)`` keyed by parameter, holding its per-parameter state.
        defaults: the options' defaults.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_with_hooks", False):
            cls.step = _with_step_hooks(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._workspace = {}
        for name in _HOOK_DICTS:
            setattr(self, name, _HookDict())
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        if isinstance(params, dict):
            params = [params]
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a parameter group (e.g. layers unfrozen during fine-tuning) with its own options."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {_typename(param_group)}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. Please "
                            "use a list instead.")
        else:
            params = list(params)

        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                if len(p) != 2:
                    raise TypeError(f"a named parameter must be a (name, Tensor) pair, got a "
                                    f"tuple of length {len(p)}")
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        if names and len(names) != len(tensors):
            raise ValueError("all optimizer params should be with/without names. Some param "
                             "names are missing")

        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if not p.is_floating_point():
                raise TypeError("optimizer can only optimize floating-point Tensors, but one of "
                                f"the params has dtype {p.dtype!r}")

        group = param_group           # torch updates the caller's dict in place too
        group["params"] = tensors
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._check_group(group)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; each "
                          "copy is updated, so the parameter moves more than once per step",
                          stacklevel=3)
        seen = set()
        for g in self.param_groups:
            seen.update(id(p) for p in g["params"])
            if ("param_names" in g) != ("param_names" in group):
                which = "with names" if "param_names" in group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate a group's options (subclasses override; called by ``add_param_group``)."""

    # ------------------------------------------------------------------ gradients & steps
    def zero_grad(self, set_to_none: bool = True):
        """Reset every parameter's gradient: to None (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure=None):
        """One optimization step.  ``closure`` (optional) re-evaluates the model and returns the
        loss; it runs with gradients enabled and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                opts = self._group_options(group)
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    garr = g.array
                    if garr.shape != p.array.shape:
                        raise RuntimeError(f"{type(self).__name__}.step: a parameter of shape "
                                           f"{tuple(p.array.shape)} has a gradient of shape "
                                           f"{tuple(garr.shape)}")
                    self._update(p, garr, opts)
                    p._version[0] += 1
        return loss

    # ------------------------------------------------------------------ hooks
    def _hooks(self, name):
        hooks = self.__dict__.get(name)
        if hooks is None:                    # an optimizer unpickled from before hooks existed
            hooks = self.__dict__[name] = _HookDict()
        return hooks

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)`` before each step."""
        return self._hooks("_optimizer_step_pre_hooks").add(hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None`` after each step."""
        return self._hooks("_optimizer_step_post_hooks").add(hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer) -> None`` before ``state_dict()`` builds the state dict."""
        return self._hooks("_optimizer_state_dict_pre_hooks").add(hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict or None`` after it is built."""
        return self._hooks("_optimizer_state_dict_post_hooks").add(hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict or None`` before it is loaded."""
        return self._hooks("_optimizer_load_state_dict_pre_hooks").add(hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer) -> None`` after ``load_state_dict`` finished."""
        return self._hooks("_optimizer_load_state_dict_post_hooks").add(hook, prepend)

    def _group_options(self, group):
        """Read a group's options once per step (subclasses override)."""
        return group

    def _update(self, p, grad, opts):
        """Update ``p.array`` in place from the gradient array ``grad`` (subclasses override)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def _scratch(self, arr, count):
        """``count`` scratch arrays shaped and typed like ``arr``, reused across steps.

        One flat buffer per dtype, sized for the largest parameter seen, is shared by all
        parameters (they are updated one after another).  Not part of the state.
        """
        bufs = self._workspace.get(arr.dtype)
        n = arr.size
        if bufs is None or len(bufs) < count or bufs[0].size < n:
            size = max(n, bufs[0].size if bufs else 0)
            bufs = [xp.empty(size, arr.dtype) for _ in range(max(count, len(bufs) if bufs else 0))]
            self._workspace[arr.dtype] = bufs
        return tuple(b[:n].reshape(arr.shape) for b in bufs[:count])

    # ------------------------------------------------------------------ state dicts
    def state_dict(self):
        """The optimizer's state: ``{'state': {index: {...}}, 'param_groups': [{..., 'params':
        [indices]}]}``, parameters numbered in order of appearance across the groups.

        As in torch, the state values are the live state tensors (not copies): deep-copy the
        result (or save it) to keep a snapshot while training continues.
        """
        for hook in self._hooks("_optimizer_state_dict_pre_hooks").values():
            hook(self)
        index = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {}
        for k, v in self.state.items():
            state[index[id(k)] if isinstance(k, Tensor) and id(k) in index else k] = v
        result = {"state": state, "param_groups": groups}
        for hook in self._hooks("_optimizer_state_dict_post_hooks").values():
            replaced = hook(self, result)
            if replaced is not None:
                result = replaced
        return result

    def load_state_dict(self, state_dict):
        """Load a state dict from ``state_dict()`` (of this or an equivalent optimizer).

        The groups must match in number and size.  Group options are taken from the state
        dict (the parameters stay this optimizer's).  State tensors are copied; floating ones
        are cast to their parameter's dtype, except ``step`` which keeps its dtype (a plain
        number ``step`` becomes a 0-d float Tensor).  NumPy arrays (and other array-likes,
        such as torch tensors) are accepted and converted.
        """
        for hook in self._hooks("_optimizer_load_state_dict_pre_hooks").values():
            replaced = hook(self, state_dict)
            if replaced is not None:
                state_dict = replaced
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with 'state' and 'param_groups' "
                             "entries, as returned by Optimizer.state_dict()")
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} saved, {len(groups)} in this optimizer)")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 f"the size of optimizer's group (group {i}: "
                                 f"{len(sg['params'])} saved, {len(g['params'])} in this optimizer)")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                state[p] = _cast_state(p, v)
            else:
                state[k] = copy.deepcopy(v)

        new_groups = []
        for g, sg in zip(groups, saved_groups):
            sg["params"] = g["params"]
            if "param_names" in g and "param_names" not in sg:
                sg["param_names"] = g["param_names"]
            for name, default in self.defaults.items():
                if default is not required:
                    sg.setdefault(name, default)
            new_groups.append(sg)
        self.state = state
        self.param_groups = new_groups
        self._after_load()
        for hook in self._hooks("_optimizer_load_state_dict_post_hooks").values():
            hook(self)

    def _after_load(self):
        """Hook run at the end of ``load_state_dict`` (e.g. to force an option)."""

    # ------------------------------------------------------------------ misc
    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop("_workspace", None)
        return d

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._workspace = {}

    def __repr__(self):
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


Optimizer.step = _with_step_hooks(Optimizer.step)


def _to_array(value):
    if isinstance(value, Tensor):
        return value.array
    if isinstance(value, xp.ndarray):
        return value
    if hasattr(value, "__array__") and not isinstance(value, (bool, int, float, complex, str)):
        if hasattr(value, "detach"):          # a torch tensor
            value = value.detach()
        return xp.asarray(value)
    return None


def _cast_state(param, value, key=None):
    """Copy one saved state entry for ``param`` (torch's casting policy, always copying)."""
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if key == "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return Tensor._wrap(xp.array(float(value), _scalar_dtype()))
    arr = _to_array(value)
    if arr is not None:
        if key != "step" and arr.dtype.kind == "f":
            return Tensor._wrap(xp.array(arr, dtype=param.array.dtype, copy=True))
        return Tensor._wrap(xp.array(arr, copy=True))
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v, key) for v in value)
    return copy.deepcopy(value)
