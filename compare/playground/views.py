"""The JSON the page gets: `setup` once per set-up (the data, the equations, the NumPy source, the graph's
shape), `state` after every change (costs, each equation's value and each backend's difference, the heat
maps, the graph's values).

Layers are lists throughout (`layers`, each equation row's `layer`, `units` per layer), so that deep
networks add rows and maps, not a new format.
"""
import inspect
import sys
from pathlib import Path

import numpy as np

import impls
from compare import equations
from compare.numerics import accuracy, max_abs_diff, rel_error
from compare.teach.explain import rounding_scales, tagged_lines
from compare.tolerances import EXPLAIN_RTOL
from compare.playground import graph
from compare.playground import settings as S
from compare.playground.arrays import matrix, number, to_bytes
from compare.playground.session import BLOWUP

GRID = 64           # the decision boundary's heat map: GRID × GRID points over the data's box
UNIT_GRID = 32      # each hidden unit's map


def numpy_source():
    """The NumPy backend's forward and backward, line by line, and the lines each equation's tag marks."""
    cls = type(impls.get_backend("numpy"))
    path = Path(sys.modules[cls.__module__].__file__)
    blocks = []
    for method in (cls._forward, cls._backward):
        lines, start = inspect.getsourcelines(method)
        blocks.append({"start": start, "lines": [line.rstrip("\n") for line in lines]})
    tags = {eq: list(range(number - code.count("\n"), number + 1))
            for eq, (number, code) in tagged_lines(path).items()}
    return {"file": f"{path.parent.name}/{path.name}", "blocks": blocks, "tags": tags}


def setup(session):
    """What stays the same until the set-up changes."""
    s, X = session.settings, session.X
    n_x, m, n_y, n_h = X.shape[0], X.shape[1], session.Y.shape[0], s.hidden[0]
    points = np.concatenate([X, session.X_test], axis=1)
    labels = np.concatenate([session.Y, session.Y_test], axis=1)[0]
    data = {"n_x": n_x, "m": m, "m_test": session.X_test.shape[1], "name": session.upload[0]
            if s.dataset == S.CSV else s.dataset}
    if n_x == 2:
        data["box"] = [float(v) for v in box(session)]
        data["points"] = [[round(float(x), 5), round(float(y), 5), int(c), int(i >= m)]
                          for i, (x, y, c) in enumerate(zip(points[0], points[1], labels))]
    return {
        "settings": s.to_dict(), "caps": S.caps(), "data": data,
        "layers": [{"layer": 1, "units": n_h, "activation": s.activation}],
        "equations": [{"id": e.id, "layer": 1, "formula": e.text(s.activation), "yields": e.yields,
                       "shape": list(e.shape_for(n_x, n_h, n_y, m)), "backward": e.id.startswith("B")}
                      for e in equations.EQUATIONS],
        "source": numpy_source(), "graph": graph.structure(session), "tolerance": EXPLAIN_RTOL[s.dtype],
    }


def _values(backend, params, X, Y):
    return {**backend.forward(params, X), **backend.intermediates(params, X, Y), **backend.gradients(params, X, Y)}


def equation_rows(session):
    """Each equation's value at the reference's parameters, and each backend's largest difference from it."""
    params, X, Y = session.params["numpy"], session.X, session.Y
    values = {name: _values(b, params, X, Y) for name, b in session.backends.items()}
    reference = values["numpy"]
    scales = rounding_scales(params, X, Y, reference)
    tolerance = EXPLAIN_RTOL[session.settings.dtype]
    rows = []
    for e in equations.EQUATIONS:
        diffs = {}
        for name in session.backends:
            if name == "numpy":
                continue
            diff = max_abs_diff(values[name][e.yields], reference[e.yields])
            scale = scales[e.yields]
            ratio = diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))
            diffs[name] = {"max_abs": number(diff), "rounding": number(ratio), "ok": bool(ratio <= tolerance)}
        rows.append({"id": e.id, "layer": 1, "value": matrix(reference[e.yields]), "diffs": diffs})
    return rows


def maps(session):
    """The decision boundary (A2) and each hidden unit's output (A1) over the input plane, as heat maps."""
    if session.X.shape[0] != 2:
        return None
    x0, x1, y0, y1 = box(session)
    xs, ys = np.linspace(x0, x1, GRID), np.linspace(y1, y0, GRID)  # rows from the top: y decreasing
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()]).astype(session.settings.dtype)
    out = session.reference.forward(session.params["numpy"], grid)
    A1 = out["A1"].reshape(-1, GRID, GRID)[:, ::GRID // UNIT_GRID, ::GRID // UNIT_GRID]
    scale = float(np.max(np.abs(A1))) or 1.0
    if session.settings.activation in ("tanh", "sigmoid"):
        scale = 1.0  # their range, so that maps of two steps compare
    return {"grid": GRID, "boundary": to_bytes(out["A2"][0], 0, 1),
            "units": [{"layer": 1, "grid": UNIT_GRID, "scale": scale,
                       "maps": [to_bytes(unit, -scale, scale) for unit in A1]}]}


def box(session):
    """The input plane the heat maps cover: the data's bounding box and a margin."""
    points = np.concatenate([session.X, session.X_test], axis=1)
    low, high = points.min(axis=1), points.max(axis=1)
    pad = 0.08 * np.maximum(high - low, 1e-9)
    return low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1]


def suggestion(lr):
    """A learning rate to try instead: ten times smaller, or the course's 1.2 when that is still far off."""
    return float(f"{lr / 10:.3g}") if lr <= 100 else S.Settings.lr


def state(session, since=-1, detail=True):
    """Everything that changes with a step; `since`: the last iteration the page's cost curve already has;
    `detail`: with the equations' values and differences and the graph's values (Play asks for them a few
    times a second, not on every update: they are the larger part of the work and of the answer)."""
    params, ref = session.params, session.reference
    has_test = session.X_test.shape[1] > 0
    reference = params["numpy"]
    flat = np.concatenate([np.ravel(v) for v in reference.values()])
    backends = {}
    for name in session.backends:
        own = np.concatenate([np.ravel(v) for v in params[name].values()])
        # max |Δθ| as the equations' differences are measured; the relative one alone would call two runs that
        # stay at zero weights (zero init on balanced data) 100% apart over differences of 1e-17
        backends[name] = {"cost": number(session.costs[name]), "distance": number(max_abs_diff(own, flat)),
                          "relative": number(rel_error(own, flat)),
                          "diverged": session.diverged.get(name)}
    diverged = session.diverged.get("numpy")
    blowup = session.blowup
    lr = session.settings.lr
    return {
        "iteration": session.iteration,
        "cost": number(session.costs["numpy"]),
        "test_cost": number(session.test_cost()) if has_test else None,
        "accuracy": accuracy(ref, reference, session.X, session.Y),
        "test_accuracy": accuracy(ref, reference, session.X_test, session.Y_test) if has_test else None,
        "history": [[k, number(c), None if t is None else number(t)] for k, c, t in session.history if k > since],
        "backends": backends,
        "diverged": diverged,
        "blowup": None if blowup is None else {**{k: number(v) for k, v in blowup.items()}, "factor": BLOWUP},
        "suggested_lr": suggestion(lr) if diverged or blowup else None,
        "equations": equation_rows(session) if detail else None,
        "maps": maps(session),
        "graph": graph.values(session) if detail else None,
    }
