"""Workload registry: each workload builds one step for layerwise and one for torch.

A workload is a function ``setup(lib) -> step`` where ``lib`` is the library
module (``layerwise`` or ``torch``) and ``step()`` runs one unit of work (for
example a training step).  Both sides must do the same work on the same data.
"""
from __future__ import annotations

WORKLOADS = {}


FLOPS = {}


def workload(name, description="", flops=None):
    """Register ``setup(lib) -> step`` under ``name``; ``flops`` per step enables a GFLOP/s report."""
    def register(setup):
        WORKLOADS[name] = (setup, description or (setup.__doc__ or "").strip().splitlines()[0])
        if flops:
            FLOPS[name] = flops
        return setup
    return register
