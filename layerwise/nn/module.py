"""Module: the base class of every layer, with torch.nn.Module's API.

A Module owns Parameters, buffers and child Modules, registered by attribute
assignment.  It knows whether it is training (a per-module flag: ``train()``
and ``eval()``), saves and loads its state by dotted names
(``layer.0.weight``), and runs hooks around ``forward`` and its backward — the
summary, feature-map and gradient-flow tools are built on those hooks.
"""
from __future__ import annotations

import collections

import numpy as np

from .. import dtypes as _dt
from .._hooks import _Handle, _HookDict  # noqa: F401  (re-exported for callers)
from ..autograd import grad_mode
from ..autograd.function import Function
from ..device import as_device
from ..tensor import Tensor, _RemovableHandle
from .parameter import Buffer, Parameter

_IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for all layers; subclasses define ``forward``."""

    training: bool
    _version = 1

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = collections.OrderedDict()
        d["_buffers"] = collections.OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = collections.OrderedDict()
        d["_forward_pre_hooks"] = _HookDict()
        d["_forward_hooks"] = _HookDict()
        d["_backward_hooks"] = _HookDict()

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() call")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            self._drop(name)
            self.register_parameter(name, value)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is required)")
            params[name] = None
        elif isinstance(value, Module):
            self._drop(name)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                "(a Module or None is required)")
            modules[name] = None
        elif isinstance(value, Buffer):
            self._drop(name)
            self.register_buffer(name, value, persistent=value.persistent)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(a Tensor or None is required)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _drop(self, name):
        d = self.__dict__
        d.pop(name, None)
        for store in (d["_parameters"], d["_buffers"], d["_modules"]):
            store.pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d[store]:
                del d[store][name]
                d["_non_persistent_buffers"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def _check_name(self, name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"{kind} name can't contain '.' or be empty, got {name!r}")
        if name in self.__dict__ or (hasattr(type(self), name) and not name.startswith("_")):
            raise KeyError(f"attribute {name!r} already exists")

    def register_parameter(self, name, param):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} object to parameter {name!r} "
                            "(layerwise.nn.Parameter or None required)")
        if param is not None and param._node is not None:
            raise ValueError(f"cannot assign a non-leaf tensor to parameter {name!r}; use detach()")
        self._drop(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} object to buffer {name!r} "
                            "(a Tensor or None is required)")
        self._drop(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        self._drop(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r} (in {target!r})")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, mod in self._modules.items():
            if mod is None:
                continue
            yield from mod.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, mod in self._modules.items():
            if mod is not None and id(mod) not in seen:
                seen.add(id(mod))
                yield name, mod

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, v in getattr(mod, store).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, Parameter) pairs; a parameter shared by two layers is listed once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes & conversion
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.array[...] = 0

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply_arrays(self, fn):
        """Replace every parameter's and buffer's array by ``fn(array)`` (keeping the objects)."""
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is not None:
                        t.array = fn(t.array)
                        if t.grad is not None:
                            t.grad.array = fn(t.grad.array)
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        for a in args:
            if isinstance(a, (_dt.dtype, np.dtype)) or a in (float, int):
                dtype = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            else:
                device = a
        as_device(device)
        if dtype is not None:
            d = _dt.as_dtype(dtype)
            if not d.is_floating_point:
                raise TypeError(f"Module.to only accepts floating point dtypes, got {d}")
            self._apply_arrays(lambda a: a.astype(d.np) if a.dtype.kind == "f" else a)
        return self

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def cpu(self):
        return self

    def cuda(self, device=None):
        as_device("cuda")

    def type(self, dst_type):
        return self.to(dst_type)

    # ------------------------------------------------------------------ state
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, sharing memory with the module."""
        out = collections.OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values into the existing parameters and buffers (tied ones stay tied).

        Shape mismatches are always an error; missing and unexpected keys are an
        error when ``strict``.  All problems are listed together.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = v.array if isinstance(v, Tensor) else np.asarray(v)
            if arr.shape != target.array.shape:
                errors.append(f"size mismatch for {k}: copying a param with shape {tuple(arr.shape)} "
                              f"from checkpoint, the shape in current model is {tuple(target.shape)}.")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with grad_mode.no_grad():
            for k, target in own.items():
                if k in state_dict:
                    v = state_dict[k]
                    arr = v.array if isinstance(v, Tensor) else np.asarray(v)
                    if assign:
                        target.array = arr.astype(target.array.dtype, copy=False)
                    else:
                        np.copyto(target.array, arr, casting="unsafe")
                    target._version[0] += 1
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ hooks & call
    def register_forward_pre_hook(self, hook):
        """``hook(module, args) -> None | new args`` runs before ``forward``."""
        return self._forward_pre_hooks.add(hook)

    def register_forward_hook(self, hook):
        """``hook(module, args, output) -> None | new output`` runs after ``forward``."""
        return self._forward_hooks.add(hook)

    def register_full_backward_hook(self, hook):
        """``hook(module, grad_input, grad_output) -> None | new grad_input`` runs in backward,
        once the gradients with respect to the module's tensor inputs are known."""
        return self._backward_hooks.add(hook)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        bw = None
        if self._backward_hooks and grad_mode.is_grad_enabled():
            bw = _BackwardHookState(self)
            args = bw.wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        if bw is not None:
            out = bw.wrap_outputs(out)
        return out

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, mod in self._modules.items():
            text = repr(mod).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        if not lines:
            return f"{self._get_name()}()"
        if len(lines) == 1 and not self._modules:
            return f"{self._get_name()}({lines[0]})"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)


class _GradTap(Function):
    """Identity on several tensors whose backward hands their gradients to a callback."""

    inputs = ("*xs",)

    def forward(self, *xs, callback=None):
        self.save_for_backward(callback=callback)
        return tuple(xs) if len(xs) > 1 else xs[0]

    def backward(self, *grads):
        res = self.saved.callback(grads)
        return tuple(res) if len(res) > 1 else res[0]


class _BackwardHookState:
    """Collects a module call's grad_output, then calls its full backward hooks with grad_input."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_inputs = 0
        self.input_positions = []

    def wrap_inputs(self, args):
        self.n_inputs = len(args)
        self.input_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not self.input_positions:
            return args
        tapped = _GradTap.apply(*[args[i] for i in self.input_positions], callback=self._inputs_done)
        tapped = tapped if isinstance(tapped, tuple) else (tapped,)
        args = list(args)
        for i, t in zip(self.input_positions, tapped):
            args[i] = t
        return tuple(args)

    def wrap_outputs(self, out):
        single = isinstance(out, Tensor)
        outs = (out,) if single else tuple(out) if isinstance(out, (tuple, list)) else None
        if outs is None:
            return out
        pos = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not pos:
            return out
        self.n_outputs = len(outs)
        self.output_positions = pos
        tapped = _GradTap.apply(*[outs[i] for i in pos], callback=self._outputs_done)
        tapped = tapped if isinstance(tapped, tuple) else (tapped,)
        outs = list(outs)
        for i, t in zip(pos, tapped):
            outs[i] = t
        return outs[0] if single else type(out)(outs)

    def _outputs_done(self, grads):
        full = [None] * self.n_outputs
        for i, g in zip(self.output_positions, grads):
            full[i] = Tensor._wrap(g)
        self.grad_output = tuple(full)
        if not self.input_positions:            # nothing upstream: call the hooks now
            self._call_hooks((None,) * self.n_inputs)
        return grads

    def _inputs_done(self, grads):
        full = [None] * self.n_inputs
        for i, g in zip(self.input_positions, grads):
            full[i] = Tensor._wrap(g)
        full = self._call_hooks(tuple(full))
        return tuple(full[i].array if full[i] is not None else grads[k]
                     for k, i in enumerate(self.input_positions))

    def _call_hooks(self, grad_input):
        for hook in list(self.module._backward_hooks.values()):
            res = hook(self.module, grad_input, self.grad_output)
            if res is not None:
                grad_input = tuple(res)
        return grad_input
