"""explain for an L-layer network (week 4): one row per equation per layer, with its shape for the configuration
and the live difference between the hand-written value (impls/backends/numpy_deep.py, the course's functions)
and each autograd backend's; under the table, where each row lives in the code (one line serves a row at every
layer) and what autograd does in its place."""
import textwrap
from dataclasses import dataclass
from pathlib import Path

from compare.equations import deep_equations, line_tags
from compare.teach.explain.sources import call_lines, relative
from compare.teach.explain.table import SYMBOL, WIDTH, Explanation, Row, _figure, evaluate, measure
from compare.terminal import spelled
from compare.tolerances import EXPLAIN_RTOL
from impls.base import layer_dims

ROW_KINDS = (("F1", "F3"), ("F2", "F4"), ("B1",), ("B4",), ("B2", "B5"), ("B3", "B6"))
# what does each kind of row's job in reverse mode, at layer l (the same at every layer)
AUTOGRAD = {
    ("F1", "F3"): "recorded (torch: one addmm node, b_l + W_l A_l−1), to be differentiated through",
    ("F2", "F4"): "recorded; the output layer's σ is off J's path: the cost is computed from ZL",
    ("B1",): "the backward of log(1 + e^ZL) − Y⊙ZL at ZL, σ(ZL) − Y, times 1/m from the mean; shown ×m",
    ("B4",): "the product's backward for A_l, W_l+1ᵀ · upstream (dA_l), then the activation's rule "
             "(⊙ g′(Z_l)); shown ×m",
    ("B2", "B5"): "the product's backward for W_l: upstream · A_l−1ᵀ, the 1/m already in upstream",
    ("B3", "B6"): "the backward of b_l's broadcast over the m columns: upstream summed back to b_l's shape",
}
CALLS = {"torch": ("torch.autograd.grad(", "_deep_gradients"), "jax": ("jax.grad(", "_deep_gradients"),
         "tape": ("tape.backward(", "_deep_backward")}


@dataclass
class DeepRow:
    """One row of the L-layer table: an equation at one layer, its shape, and the measured differences."""

    id: str
    layer: int
    equation: str
    result: str
    shape: tuple
    max_abs: dict     # backend -> max |hand-written − autograd|, None if not run
    rounding: dict    # backend -> max|Δ| / the row's rounding scale
    ok = Row.ok


@dataclass
class DeepExplanation:
    """What `explain` returns for a network of any depth other than two layers: `.rows`, `.ok`, str()."""

    settings: dict
    rows: list
    places: list       # (ids, [(file:line, code)]): where each kind of row lives in numpy_deep.py
    autograd: dict     # backend -> file:line of its gradient call
    missing: dict
    tolerance: float
    ok = Explanation.ok

    def __str__(self):
        s, columns = self.settings, list(self.rows[0].max_abs)
        L = len(s["layer_dims"]) - 1
        lines = textwrap.wrap(f"The week-4 equations for L = {L} layer{'s' * (L > 1)}, one row per equation per "
                              "layer: its shape, and how far autograd is from the hand-written value", WIDTH)
        lines += textwrap.wrap(f"data {s['dataset']}: X {s['X_shape']}, Y {s['Y_shape']}; layer_dims "
                               f"{s['layer_dims']}, {s['activation']}, {s['dtype']}; parameters {s['at']}. "
                               "Hidden layers l < L: F1 F2 forward, B4 B5 B6 backward; the output layer L: F3 F4, "
                               f"B1 B2 B3. A0 is X. max|Δ| = max over entries of |hand-written − autograd|; the "
                               f"course's dZ = m·∂J/∂Z (m = {s['m']}).", WIDTH, initial_indent="  ",
                               subsequent_indent="  ") + [""]
        wide = max(len(spelled(r.equation)) for r in self.rows) + 2
        head = f"{'':4}{'l':3}{'equation':{wide}}{'result':17}" + "".join(f"{b:>10}" for b in columns)
        label = "max|Δ| against the hand-written value" if columns else ""
        lines += [f"{label:>{len(head)}}", head, "─" * len(head)]
        for row in self.rows:
            diffs = "".join(f"{_figure(row, b, self.tolerance):>10}" for b in columns)
            result = f"{row.result} {row.shape}"
            lines.append(f"{row.id:4}{row.layer:<3}{spelled(row.equation):{wide}}{result:17}{diffs}")
        lines += [""] + textwrap.wrap("Where each row lives: impls/backends/numpy_deep.py, the course's functions; "
                                      "one line serves a row at every layer (its comment names both ids, F1 F3: F1 "
                                      "at a hidden layer, F3 at the output).", WIDTH)
        for ids, places in self.places:
            for i, (where, code) in enumerate(places):
                lines.append(f"  {' '.join(ids) if i == 0 else '':7}{where:22}{code}")
        lines += ["", "What autograd does in its place, at every layer l (torch, JAX and the tape alike):"]
        for ids, text in AUTOGRAD.items():
            lines += textwrap.wrap(text, WIDTH, initial_indent=f"  {' '.join(ids):7}", subsequent_indent=" " * 9)
        if self.autograd:
            lines += textwrap.wrap("The gradient is asked for at " + ", ".join(
                f"{b}: {w}" for b, w in self.autograd.items()) + ".", WIDTH, initial_indent="  ",
                subsequent_indent="  ")
        lines.append("")
        lines += [f"{b}: {why}" for b, why in self.missing.items()]
        bad = [f"{r.id} layer {r.layer} ({b})" for r in self.rows for b in columns
               if r.rounding.get(b) is not None and not r.rounding[b] <= self.tolerance]
        if any(v is not None for r in self.rows for v in r.max_abs.values()):
            lines += textwrap.wrap(
                f"Every difference is rounding: max|Δ| ≤ {self.tolerance:.0e} × the size of the terms each value is "
                "built from." if not bad else f"NOT rounding (marked !): {', '.join(bad)}: max|Δ| > "
                f"{self.tolerance:.0e} × the size of the terms the value is built from.", WIDTH)
        return "\n".join(lines)


def places():
    """[(ids, [(file:line, code)])] of numpy_deep.py's tagged lines, one entry per kind of row."""
    from impls.backends import numpy_deep
    path = Path(numpy_deep.__file__)
    tags, name = line_tags(path), relative(path).rpartition("/")[2]
    return [(ids, [(f"{name}:{n}", code) for n, code in tags.get(ids[0], [])]) for ids in ROW_KINDS]


def gradient_calls(names):
    """{backend: file:line of the call that asks for the deep network's gradient}."""
    import importlib.util

    import impls
    out = {}
    for b in names:
        if b in CALLS:
            path = Path(importlib.util.find_spec(impls._REGISTRY[b][0]).origin)
            line = call_lines(path, CALLS[b][0]).get(CALLS[b][1])
            out[b] = f"{relative(path)}:{line}" if line else relative(path)
    return out


def explain_deep(params, X, Y, *, backends, missing=None, dataset="custom", at="as given"):
    """The L-layer table: as `explain` (table.py), for parameters W1, b1, …, WL, bL of any depth."""
    ref, params, X, Y, values, reference, scales, missing, columns = evaluate(params, X, Y, backends, missing)
    m, dims, L = X.shape[1], layer_dims(params), len(params) // 2
    rows = []
    for eq in deep_equations(L):
        row = DeepRow(eq.id, eq.layer, eq.text(ref.activation, symbol=SYMBOL.get(ref.activation)), eq.yields,
                      eq.shape_in(dims, m), {}, {})
        measure(row, eq.yields, columns, values, reference, scales)
        rows.append(row)
    settings = {"dataset": dataset, "X_shape": X.shape, "Y_shape": Y.shape, "layer_dims": dims,
                "activation": ref.activation, "dtype": ref.dtype, "m": m, "at": at}
    return DeepExplanation(settings, rows, places(), gradient_calls(list(backends)[1:]), missing,
                           EXPLAIN_RTOL[ref.dtype])
