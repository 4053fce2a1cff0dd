"""The equations table at any depth: its rows (compare.equations.deep_equations, which is week 3's table for one
hidden layer), each row's value at the reference's parameters and each backend's largest difference from it,
judged against the size of the terms the value is built from; and the NumPy source whose tagged lines the walk
lights."""
import inspect
import sys
from pathlib import Path

import numpy as np

import impls
from compare import equations
from compare.numerics import max_abs_diff
from compare.teach.explain import rounding_scales, tagged_lines
from compare.tolerances import EXPLAIN_RTOL
from compare.playground.arrays import matrix, number
from impls.backends import numpy_deep

# numpy_deep's functions the page shows for a deep network: every line that computes a row of the table
DEEP_FUNCTIONS = ("linear_forward", "linear_activation_forward", "L_model_forward", "linear_backward",
                  "activation_backward", "L_model_backward")


def rows(layer_dims, m, activation):
    """The table's rows for the set-up: id, layer, the formula with the activation written in, shape."""
    return [{"id": e.id, "layer": e.layer, "formula": e.text(activation), "yields": e.yields,
             "shape": list(e.shape_in(layer_dims, m)), "backward": e.id.startswith("B")}
            for e in equations.deep_equations(len(layer_dims) - 1)]


def _block(function):
    lines, start = inspect.getsourcelines(function)
    return {"start": start, "lines": [line.rstrip("\n") for line in lines]}


def numpy_source(L):
    """The hand-written code the NumPy backend runs at depth L, and the lines each equation id's tag marks:
    week 3's `_forward` and `_backward` (numpy.py) for two layers, the course's week-4 functions
    (numpy_deep.py, one line per row at every layer: `# F1 F3`) otherwise."""
    if L == 2:
        cls = type(impls.get_backend("numpy"))
        path = Path(sys.modules[cls.__module__].__file__)
        blocks = [_block(cls._forward), _block(cls._backward)]
        tags = {eq: list(range(n - code.count("\n"), n + 1)) for eq, (n, code) in tagged_lines(path).items()}
    else:
        path = Path(numpy_deep.__file__)
        blocks = [_block(getattr(numpy_deep, name)) for name in DEEP_FUNCTIONS]
        tags = {eq: [n for n, _ in lines] for eq, lines in equations.line_tags(path).items()}
    return {"file": f"{path.parent.name}/{path.name}", "blocks": blocks, "tags": tags}


def values_of(backend, params, X, Y):
    """Every value the table shows, as `backend` computes it: the forward pass, the intermediates, the gradients."""
    return {**backend.forward(params, X), **backend.intermediates(params, X, Y), **backend.gradients(params, X, Y)}


def live_rows(session):
    """Each row's value at the reference's parameters and every other backend's largest difference from it: its
    max |Δ|, that over the rounding scale, and whether it is within EXPLAIN_RTOL of it."""
    params, X, Y = session.params["numpy"], session.X, session.Y
    values = {name: values_of(b, params, X, Y) for name, b in session.backends.items()}
    reference = values["numpy"]
    scales = rounding_scales(params, X, Y, reference)
    tolerance = EXPLAIN_RTOL[session.settings.dtype]
    found = []
    for e in equations.deep_equations(impls.depth(params)):
        diffs = {}
        for name in session.backends:
            if name == "numpy":
                continue
            diff = max_abs_diff(values[name][e.yields], reference[e.yields])
            scale = scales[e.yields]
            ratio = diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))
            diffs[name] = {"max_abs": number(diff), "rounding": number(ratio), "ok": bool(ratio <= tolerance)}
        found.append({"id": e.id, "layer": e.layer, "value": matrix(reference[e.yields]), "diffs": diffs})
    return found
