"""The JSON the page gets: `setup` once per set-up (the data, the layers, the equations, the NumPy source, the
graph's shape), `state` after every change (costs, each equation's value and each backend's difference, the heat
maps, the graph's values).

Layers are lists throughout (`layers`, each equation row's `layer`, `units` per hidden layer): week 3's network
is the case of one hidden layer, with week 3's rows F1 … B6, and a deep one has the week-4 rows of every layer.
"""
import numpy as np

from compare.numerics import accuracy, max_abs_diff, rel_error
from compare.tolerances import EXPLAIN_RTOL
from compare.playground import graph, table
from compare.playground import settings as S
from compare.playground.arrays import number, to_bytes
from compare.playground.session import BLOWUP

GRID = 64           # the decision boundary's heat map: GRID × GRID points over the data's box
UNIT_GRID = 32      # each hidden unit's map


def setup(session):
    """What stays the same until the set-up changes."""
    s, X, dims = session.settings, session.X, session.layer_dims
    n_x, m = X.shape
    points = np.concatenate([X, session.X_test], axis=1)
    labels = np.concatenate([session.Y, session.Y_test], axis=1)[0]
    data = {"n_x": n_x, "m": m, "m_test": session.X_test.shape[1], "name": session.upload[0]
            if s.dataset == S.CSV else s.dataset}
    if n_x == 2:
        data["box"] = [float(v) for v in box(session)]
        data["points"] = [[round(float(x), 5), round(float(y), 5), int(c), int(i >= m)]
                          for i, (x, y, c) in enumerate(zip(points[0], points[1], labels))]
    return {
        "settings": s.to_dict(), "caps": S.caps(), "data": data, "layer_dims": dims,
        "layers": [{"layer": l, "units": n, "activation": s.activation} for l, n in enumerate(dims[1:-1], start=1)],
        "memory": session.memory, "equations": table.rows(dims, m, s.activation),
        "source": table.numpy_source(len(dims) - 1), "graph": graph.structure(session),
        "tolerance": EXPLAIN_RTOL[s.dtype],
    }


def maps(session):
    """The decision boundary (AL) and each hidden layer's units (A1 … A(L−1)) over the input plane, as heat maps."""
    if session.X.shape[0] != 2:
        return None
    x0, x1, y0, y1 = box(session)
    xs, ys = np.linspace(x0, x1, GRID), np.linspace(y1, y0, GRID)  # rows from the top: y decreasing
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()]).astype(session.settings.dtype)
    out = session.reference.forward(session.params["numpy"], grid)
    L = len(out) // 2
    units = []
    for l in range(1, L):
        A = out[f"A{l}"].reshape(-1, GRID, GRID)[:, ::GRID // UNIT_GRID, ::GRID // UNIT_GRID]
        scale = float(np.max(np.abs(A))) or 1.0
        if session.settings.activation in ("tanh", "sigmoid"):
            scale = 1.0  # their range, so that maps of two steps compare
        units.append({"layer": l, "grid": UNIT_GRID, "scale": scale, "maps": [to_bytes(u, -scale, scale) for u in A]})
    return {"grid": GRID, "boundary": to_bytes(out[f"A{L}"][0], 0, 1), "units": units}


def box(session):
    """The input plane the heat maps cover: the data's bounding box and a margin."""
    points = np.concatenate([session.X, session.X_test], axis=1)
    low, high = points.min(axis=1), points.max(axis=1)
    pad = 0.08 * np.maximum(high - low, 1e-9)
    return low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1]


def suggestion(lr, hidden):
    """A learning rate to try instead: ten times smaller, or the course's for this depth (1.2 for one hidden layer,
    0.0075 for more) when that is still far off."""
    return float(f"{lr / 10:.3g}") if lr <= 100 else S.depth_defaults(hidden)["lr"]


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
        "suggested_lr": suggestion(lr, session.settings.hidden) if diverged or blowup else None,
        "equations": table.live_rows(session) if detail else None,
        "maps": maps(session),
        "graph": graph.values(session) if detail else None,
    }
