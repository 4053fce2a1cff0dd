"""explain's numbers and its table: for each equation, the live difference between the hand-written value and
each autograd backend's, held against the rounding scale of the terms the value is built from."""
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import impls
import impls.backends.numpy
from compare.equations import EQUATIONS
from compare.teach.explain.roles import notes, roles
from compare.teach.explain.sources import activation_line, relative, tagged_lines
from compare.terminal import spelled
from compare.tolerances import EXPLAIN_RTOL
from impls.base import check_params
from impls.checks import check_data

WIDTH = 100
SYMBOL = {"sigmoid": "σ"}  # g1 as the lecture writes it in F2 where it has a symbol of its own


def rounding_scales(params, X, Y, values):
    """For each equation's result, the size of the terms it is built from, errors inherited included, at any
    depth (the keys of `values`: Z1 … AL, A's, dA1 … dA(L−1)).

    A float computation of a value differs from the exact one by a few ε times the sum of the absolute
    values of its terms (|W1||X| + |b1| for Z1, not |Z1|, which may cancel). Each scale also carries the
    upstream ones through |g′| ≤ 1, |g″| ≤ 1 and σ′ ≤ 1/4, so that two correct programs differ by at
    most a small multiple of ε·scale, however much the value itself cancels (a gradient near a minimum).
    """
    a, m, L = np.abs, X.shape[1], len(params) // 2
    W, b = ({l: a(np.asarray(params[f"{k}{l}"], dtype=np.float64)) for l in range(1, L + 1)} for k in "Wb")
    s = {"A0": a(np.asarray(X, dtype=np.float64))}
    for l in range(1, L + 1):
        s[f"Z{l}"] = W[l] @ s[f"A{l - 1}"] + b[l]
        s[f"A{l}"] = (s[f"Z{l}"] + a(values[f"A{l}"])) if l < L else s[f"Z{l}"] / 4 + a(values[f"A{l}"])
    s[f"dZ{L}"] = s[f"A{L}"] + a(np.asarray(Y, dtype=np.float64))
    for l in range(L - 1, 0, -1):
        s[f"dZ{l}"] = W[l + 1].T @ s[f"dZ{l + 1}"] + a(values[f"dA{l}"]) * s[f"Z{l}"]
    for l in range(1, L + 1):
        s[f"dW{l}"] = s[f"dZ{l}"] @ s[f"A{l - 1}"].T / m
        s[f"db{l}"] = np.sum(s[f"dZ{l}"], axis=1, keepdims=True) / m
    del s["A0"]
    return {k: float(np.max(v)) for k, v in s.items()}


@dataclass
class Row:
    """One equation: where it lives, what autograd does in its place, and the measured differences."""

    id: str
    equation: str
    result: str
    shape: tuple
    numpy_line: str                               # file:line of its tagged line in the NumPy backend
    numpy_code: list                              # the code there, one string per line
    roles: dict                                   # backend -> what plays the equation's part there
    max_abs: dict = field(default_factory=dict)   # backend -> max |manual − autograd|, None if not run
    rounding: dict = field(default_factory=dict)  # backend -> max|Δ| / the row's rounding scale

    def ok(self, tol):
        return all(r is None or r <= tol for r in self.rounding.values())


@dataclass
class Explanation:
    """What `explain` returns: `.rows`, `.notes`, `.ok` and the table as str()."""

    settings: dict
    rows: list
    notes: list                                   # (title, paragraph)
    missing: dict                                 # backend -> why it did not run
    tolerance: float

    @property
    def ok(self):
        return all(row.ok(self.tolerance) for row in self.rows)

    def __str__(self):
        s = self.settings
        columns = list(self.rows[0].roles)
        lines = ["The lecture's ten equations: where each lives, what autograd does in its place, how far apart"]
        lines += textwrap.wrap(f"data {s['dataset']}: X {s['X_shape']}, Y {s['Y_shape']}; n_h={s['n_h']}, "
                               f"{s['activation']}, {s['dtype']}; parameters {s['at']}. max|Δ| = max over entries "
                               "of |hand-written − autograd|. Autograd gives ∂J/∂Z; the course's dZ has no 1/m in "
                               f"it, dZ = m·∂J/∂Z (m = {s['m']}).", WIDTH, initial_indent="  ",
                               subsequent_indent="  ") + [""]
        wide = max(30, max(len(spelled(row.equation)) for row in self.rows) + 2)  # leaky_relu's g1′ is the longest
        # the NumPy line's place goes with its code, below the row: the row fits WIDTH with three columns
        head = f"{'':4}{'equation':{wide}}{'result':15}" + "".join(f"{'max|Δ| ' + b:>13}" for b in columns)
        lines += [head, "─" * len(head)]
        for row in self.rows:
            diffs = "".join(f"{_figure(row, b, self.tolerance):>13}" for b in columns)
            result = f"{row.result} {row.shape}"
            lines.append(f"{row.id:4}{spelled(row.equation):{wide}}{result:15}{diffs}")
            for i, code in enumerate(row.numpy_code):
                lines.append(f"{'':6}{'numpy:' if i == 0 else '':7}{row.numpy_line + ': ' if i == 0 else ''}{code}")
            for b in columns:
                lines += textwrap.wrap(row.roles[b], WIDTH, initial_indent=f"{'':6}{b + ':':7}",
                                       subsequent_indent=" " * 13)
        lines.append("")
        lines += [f"{b}: {why}" for b, why in self.missing.items()]
        bad = [f"{row.id} ({b})" for row in self.rows for b in columns if not row.ok(self.tolerance)
               and row.rounding.get(b) is not None and not row.rounding[b] <= self.tolerance]  # NaN: not rounding
        if any(v is not None for row in self.rows for v in row.max_abs.values()):
            lines.append(f"Every difference is rounding: max|Δ| ≤ {self.tolerance:.0e} × the size of the terms each "
                         "value is built from." if not bad else
                         f"NOT rounding (marked !): {', '.join(bad)}: max|Δ| > {self.tolerance:.0e} × the size of "
                         "the terms the value is built from; that backend computes something else there.")
        for title, text in self.notes:
            lines += ["", title] + textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="  ")
        return "\n".join(lines)


def measure(row, name, columns, values, reference, scales):
    """Fill row.max_abs and row.rounding: each column's max |hand-written − autograd| of array `name`, and that
    over the array's rounding scale; None for a backend that did not run."""
    for c in columns:
        if c not in values:
            row.max_abs[c] = row.rounding[c] = None
            continue
        diff = float(np.max(np.abs(np.asarray(values[c][name], dtype=np.float64) - reference[name])))
        row.max_abs[c] = diff
        row.rounding[c] = diff / scales[name] if scales[name] > 0 else (0.0 if diff == 0 else np.inf)


def _figure(row, backend, tol):
    value, rounding = row.max_abs.get(backend), row.rounding.get(backend)
    if value is None:
        return "—"
    return f"{value:.1e}" + ("" if rounding <= tol else " !")


def default_backends(activation, dtype, device=None):
    """The hand-written reference and every installed autograd backend; ({name: backend}, {missing: why})."""
    backends, missing = {"numpy": impls.get_backend("numpy", activation=activation, dtype=dtype)}, {}
    for name in (n for n in impls.BACKENDS if n != "numpy" and n not in impls.DATA_PARALLEL):
        if name in impls.available_backends():
            backends[name] = impls.get_backend(name, activation=activation, dtype=dtype, device=device)
        else:
            missing[name] = f"not installed ({impls.install_hint(name)}), so its column is empty"
    return backends, missing


def evaluate(params, X, Y, backends, missing):
    """(reference backend, params, X, Y checked, every backend's forward values, intermediates and gradients,
    the reference's, their rounding scales, missing, the table's columns: the other backends, then the missing)."""
    names = list(backends)
    ref = backends[names[0]]
    X, Y = check_data(X, Y, ref.dtype)
    params = check_params(params, X.shape[0], Y.shape[0], ref.dtype)
    values = {name: {**b.forward(params, X), **b.intermediates(params, X, Y), **b.gradients(params, X, Y)}
              for name, b in backends.items()}
    reference = values[names[0]]
    missing = dict(missing or {})
    columns = [n for n in names[1:] + list(missing) if n != names[0]]
    return ref, params, X, Y, values, reference, rounding_scales(params, X, Y, reference), missing, columns


def explain(params, X, Y, *, backends, missing=None, dataset="custom", at="as given"):
    """The ten equations with their NumPy lines, autograd counterparts and live differences.

    Args:
        params, X, Y: where to evaluate, course orientation.
        backends: {name: backend}, the first the hand-written reference ("numpy"); each backend after the
            first is held against the first through its forward, intermediates and gradients.
        missing: {name: why that backend is not there}; its column stays empty, with that note.
        dataset, at: what to call the data and the parameters in the heading.

    Returns:
        Explanation: str() is the table; .ok is true when every difference is at rounding level.
    """
    ref, params, X, Y, values, reference, scales, missing, columns = evaluate(params, X, Y, backends, missing)
    m = X.shape[1]
    found = roles(ref.activation, params, m)
    numpy_path = Path(impls.backends.numpy.__file__)
    tags = tagged_lines(numpy_path)
    g_line, g_code = activation_line(numpy_path, ref.activation)
    rows = []
    for eq in EQUATIONS:
        number, code = tags.get(eq.id, (None, f"(no line tagged # {eq.id} found)"))
        code = code.splitlines()
        if eq.id in ("F2", "B4") and g_line:
            code += [f"(g1, g1′ at {relative(numpy_path)}:{g_line})", g_code]
        row = Row(eq.id, eq.text(ref.activation, symbol=SYMBOL.get(ref.activation)), eq.yields,
                  tuple(reference[eq.yields].shape),
                  f"{relative(numpy_path)}:{number}" if number else relative(numpy_path), code,
                  {c: found[eq.id].get(c, "a backend given by the caller") for c in columns})
        measure(row, eq.yields, columns, values, reference, scales)
        rows.append(row)
    settings = {"dataset": dataset, "X_shape": X.shape, "Y_shape": Y.shape, "n_h": params["W1"].shape[0],
                "activation": ref.activation, "dtype": ref.dtype, "m": m, "at": at}
    return Explanation(settings, rows, notes(ref.activation, reference, m), missing, EXPLAIN_RTOL[ref.dtype])
