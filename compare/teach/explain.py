"""`python -m compare explain`: the lecture's ten equations beside the code and autograd's counterpart,
each with the live difference between the hand-written value and each autograd backend's."""
import importlib.util
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import impls
import impls.numpy_backend
from compare.tolerances import EXPLAIN_RTOL
from impls.base import check_data, check_params

ROOT = Path(impls.__file__).resolve().parents[1]
TAG = re.compile(r"#\s*([FB][1-6])\b")  # a line's equation tag: its comment starts with it
WIDTH = 100

# id, equation ({g}, {gp}: the activation and its derivative), the array it yields
EQUATIONS = [
    ("F1", "Z1 = W1 X + b1", "Z1"),
    ("F2", "A1 = {g}(Z1)", "A1"),
    ("F3", "Z2 = W2 A1 + b2", "Z2"),
    ("F4", "A2 = σ(Z2)", "A2"),
    ("B1", "dZ2 = A2 − Y", "dZ2"),
    ("B2", "dW2 = (1/m) dZ2 A1ᵀ", "dW2"),
    ("B3", "db2 = (1/m) Σ dZ2, keepdims", "db2"),
    ("B4", "dZ1 = W2ᵀ dZ2 ⊙ {gp}", "dZ1"),
    ("B5", "dW1 = (1/m) dZ1 Xᵀ", "dW1"),
    ("B6", "db1 = (1/m) Σ dZ1, keepdims", "db1"),
]

# g1'(Z1) as the lecture writes it, and what computes it inside torch's and JAX's backward passes.
DERIVATIVES = {
    "tanh": ("(1 − A1²)", "tanh's backward, grad·(1 − A1²) from its saved output A1",
             "tanh's rule, g·(1 + A1)(1 − A1) from its output A1"),
    "relu": ("(Z1 > 0)", "relu's backward, grad where its output A1 > 0, else 0",
             "jax.nn.relu's rule, g where Z1 > 0, else 0"),
    "sigmoid": ("A1(1 − A1)", "sigmoid's backward, grad·A1(1 − A1) from its saved output",
                "logistic's rule, g·A1(1 − A1) from its output"),
    "leaky_relu": ("(1 if Z1 > 0 else 0.01)", "leaky_relu's backward, grad where Z1 > 0, else 0.01·grad",
                   "the rule of where(Z1 ≥ 0, Z1, 0.01·Z1): g through the branch taken"),
}


def _relative(path):
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def tagged_lines(path):
    """{"F1": (line number, code), …} for every line of `path` whose comment starts with a tag # F1 … # B6.

    The code includes untagged lines between two tagged ones (B4's dA1 = W2ᵀ dZ2), one per line.
    """
    found, pending = {}, None  # pending: the untagged lines since the last tagged one, None past a break
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        match = TAG.search(line)
        if match and match.group(1) not in found:
            found[match.group(1)] = (number, "\n".join((pending or []) + [line[:match.start()].strip()]))
            pending = []
        elif pending is not None and line.strip() and not line.strip().startswith(("def ", "return ")):
            pending.append(line.strip())
        else:
            pending = None
    return found


def activation_line(path, activation):
    """(line number, code) of `activation`'s entry in the NumPy backend's table of g1 and g1′."""
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip().startswith(f'"{activation}":'):
            return number, line.strip()
    return None, None


def call_lines(path, needle):
    """{name of the enclosing def: first line number} of the lines of `path` that contain `needle`."""
    found, current = {}, None
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        match = re.match(r"\s*def (\w+)", line)
        current = match.group(1) if match else current
        if needle in line:
            found.setdefault(current, number)
    return found


def _locate(backend):
    """Where the forward lines and the autograd calls live in the torch or JAX backend, found now."""
    path = Path(importlib.util.find_spec(f"impls.{backend}_backend").origin)
    name = _relative(path)
    tags = tagged_lines(path)
    where = {eq: f"{name}:{tags[eq][0]}: {tags[eq][1]}" if eq in tags else name for eq in ("F1", "F2", "F3", "F4")}
    where["fused"] = any("binary_cross_entropy_with_logits(" in line.split("#")[0]  # code, not a comment
                         for line in path.read_text(encoding="utf-8").splitlines())
    needles = {"torch": ("torch.autograd.grad(", "torch.autograd.grad("), "jax": ("jax.grad(", "jax.vjp("),
               "tape": ("tape.backward(", "tape.backward(")}
    methods = ("_backward", "_backward") if backend == "tape" else ("_gradients", "_intermediates")
    for key, needle, method in zip(("grad", "inner"), needles[backend], methods):
        line = call_lines(path, needle).get(method)
        where[key] = f"{name}:{line}" if line else name
    return where


def _roles(activation, params, m):
    """What plays each equation's part in torch, JAX and the tape: {id: {"torch": text, "jax": text, …}}."""
    t, j = _locate("torch"), _locate("jax")
    _, torch_gp, jax_gp = DERIVATIVES[activation]
    roles = {eq: {"torch": f"{t[eq]}, recorded for the backward pass",
                  "jax": f"{j[eq]}, traced by jax.grad"} for eq in ("F1", "F2", "F3")}
    roles["F4"] = {b: f"{w['F4']}, off the gradient's path: the cost is computed from Z2"
                   for b, w in (("torch", t), ("jax", j))}
    cost = ("binary_cross_entropy_with_logits(Z2, Y), torch's fused cost, is (σ(Z2) − Y)·grad" if t["fused"] else
            "log(1 + e^Z2) − Y·Z2 is σ(Z2) − Y")

    def unbroadcast(b, eq):
        shape = tuple(params[b].shape)
        return {"torch": f"{b} {shape} is broadcast over the {m} columns in {eq}; the backward of a broadcast "
                         f"sums the gradient back to {b}'s shape: Σ over the examples ({t['grad']})",
                "jax": f"the broadcast of {b} in {eq} transposes to reduce_sum over axis 1 and a reshape to "
                       f"{shape} ({j['grad']})"}

    roles.update({
        "B1": {"torch": f"∂J/∂Z2, asked of torch.autograd.grad at the node Z2 ({t['inner']}): the backward of "
                        f"{cost}, times 1/m from the mean; shown ×m",
               "jax": f"∂J/∂J = 1 pulled back through jax.vjp of the cost at Z2 ({j['inner']}); shown ×m"},
        "B2": {"torch": f"the backward of the product W2 A1 (F3) for W2: ∂J/∂Z2 · A1ᵀ, the 1/m already in ∂J/∂Z2 "
                        f"({t['grad']})",
               "jax": f"the transpose of the dot_general W2 @ A1, in jax.grad ({j['grad']})"},
        "B3": unbroadcast("b2", "F3"),
        "B4": {"torch": f"the backward of the product W2 A1 (F3) for A1, W2ᵀ ∂J/∂Z2, then {torch_gp} "
                        f"({t['inner']}); shown ×m",
               "jax": f"jax.vjp of F3 (W2ᵀ ·), then of g1: {jax_gp} ({j['inner']}); shown ×m"},
        "B5": {"torch": f"the backward of the product W1 X (F1) for W1: ∂J/∂Z1 · Xᵀ ({t['grad']})",
               "jax": f"the transpose of the dot_general W1 @ X, in jax.grad ({j['grad']})"},
        "B6": unbroadcast("b1", "F1"),
    })
    for eq, text in _tape_roles(activation, params).items():
        roles[eq]["tape"] = text
    return roles


def _tape_roles(activation, params):
    """What plays each equation's part on the tape: its forward lines and the rules in impls/tape.py."""
    from impls import tape, tape_backend

    w = _locate("tape")
    engine = Path(tape.__file__)
    defs = {k: f"{_relative(engine)}:{n}" for k, n in call_lines(engine, "def ").items()}
    t = tape.Tape()  # the activation's own rule, as its node states it
    g1_rule = tape_backend.ACTIVATIONS[activation](t.var(np.zeros((1, 1)), requires_grad=True)).tape.nodes[-1]
    roles = {eq: f"{w[eq]}, recorded on the tape with its vector-Jacobian product" for eq in ("F1", "F2", "F3")}
    roles["F4"] = f"{w['F4']}, recorded, but off J's path: the cost is computed from Z2"
    roles["B1"] = (f"the tape's backward ({w['grad']}) through divide by m, sum, subtract, multiply by Y and "
                   "softplus, whose rule is upstream ⊙ σ(Z2): (A2 − Y)/m at the node Z2; shown ×m")
    roles["B2"] = f"matmul's rule for W2: upstream · A1ᵀ ({defs['__matmul__']})"
    roles["B4"] = (f"matmul's rule for A1, W2ᵀ · upstream ({defs['__matmul__']}), then {g1_rule.op}'s: "
                   f"{g1_rule.rules[0]} ({defs['_unary']}); shown ×m")
    roles["B5"] = f"matmul's rule for W1: upstream · Xᵀ ({defs['__matmul__']})"
    for eq, b in (("B3", "b2"), ("B6", "b1")):
        roles[eq] = (f"add's rule for {b}: upstream summed back to {b}'s shape {tuple(params[b].shape)}, "
                     f"Σ over the examples, keepdims ({defs['unbroadcast']})")
    return roles


def rounding_scales(params, X, Y, values):
    """For each equation's result, the size of the terms it is built from, errors inherited included.

    A float computation of a value differs from the exact one by a few ε times the sum of the absolute
    values of its terms (|W1||X| + |b1| for Z1, not |Z1|, which may cancel). Each scale also carries the
    upstream ones through |g1′| ≤ 1, |g1″| ≤ 1 and σ′ ≤ 1/4, so that two correct programs differ by at
    most a small multiple of ε·scale, however much the value itself cancels (a gradient near a minimum).
    """
    a, m = np.abs, X.shape[1]
    W1, b1, W2, b2 = (a(np.asarray(params[k], dtype=np.float64)) for k in ("W1", "b1", "W2", "b2"))
    X, Y = a(np.asarray(X, dtype=np.float64)), a(np.asarray(Y, dtype=np.float64))
    s = {"Z1": W1 @ X + b1}
    s["A1"] = s["Z1"] + a(values["A1"])
    s["Z2"] = W2 @ s["A1"] + b2
    s["A2"] = s["Z2"] / 4 + a(values["A2"])
    s["dZ2"] = s["A2"] + Y
    s["dZ1"] = W2.T @ s["dZ2"] + a(values["dA1"]) * s["Z1"]
    s["dW2"] = s["dZ2"] @ s["A1"].T / m
    s["db2"] = np.sum(s["dZ2"], axis=1, keepdims=True) / m
    s["dW1"] = s["dZ1"] @ X.T / m
    s["db1"] = np.sum(s["dZ1"], axis=1, keepdims=True) / m
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
        wide = max(30, max(len(row.equation) for row in self.rows) + 2)  # leaky_relu's g1′ is the longest
        head = f"{'':4}{'equation':{wide}}{'result':15}{'NumPy backend':27}" + "".join(
            f"{'max|Δ| ' + b:>13}" for b in columns)
        lines += [head, "─" * len(head)]
        for row in self.rows:
            diffs = "".join(f"{_figure(row, b, self.tolerance):>13}" for b in columns)
            lines.append(f"{row.id:4}{row.equation:{wide}}{row.result + ' ' + str(row.shape):15}{row.numpy_line:27}{diffs}")
            for i, code in enumerate(row.numpy_code):
                lines.append(f"{'':6}{'numpy:' if i == 0 else '':7}{code}")
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


def _figure(row, backend, tol):
    value, rounding = row.max_abs.get(backend), row.rounding.get(backend)
    if value is None:
        return "—"
    return f"{value:.1e}" + ("" if rounding <= tol else " !")


def _notes(activation, values, m):
    A1, Z1 = values["A1"], values["Z1"]
    notes = [("Why dZ2 = A2 − Y: the fused gradient of sigmoid and cross-entropy",
              "Per example L = −[y log a + (1 − y) log(1 − a)] with a = σ(z): ∂L/∂a = (a − y) / (a(1 − a)) and "
              "σ′(z) = a(1 − a), so ∂L/∂z = a − y: the σ′ factor cancels. Written from Z2, L = log(1 + e^z) − y·z, "
              "whose derivative is σ(z) − y directly. That is the cost every backend computes and autograd "
              "differentiates, so none of them divides by a(1 − a), which rounds to 0 where σ saturates.")]
    if activation == "tanh":
        gap = float(np.max(np.abs(Z1 ** 2 - A1 ** 2)))
        notes.append(("Why g1′(Z1) = 1 − A1² for tanh",
                      "tanh′(z) = 1 − tanh²(z), and A1 = tanh(Z1) is already in the cache: the derivative costs a "
                      "multiply. torch's tanh backward and JAX's tanh rule use the saved output too, not Z1. "
                      f"Writing 1 − Z1² instead would change g1′ here by up to {gap:.1e}" +
                      (": tanh(z) ≈ z at such small weights, so that mistake barely shows (`compare check` "
                       "grades with O(1) weights for this reason)." if gap < 1e-2 else ".")))
    elif activation == "sigmoid":
        notes.append(("Why g1′(Z1) = A1(1 − A1) for sigmoid",
                      "σ′(z) = σ(z)(1 − σ(z)), and A1 = σ(Z1) is already in the cache; torch's and JAX's rules "
                      "use the saved output the same way."))
    elif activation == "relu":
        notes.append(("g1′(Z1) for relu: 1 where Z1 > 0, else 0",
                      "At exactly Z1 = 0 the derivative is a convention; every backend takes 0 there."))
    else:
        notes.append(("g1′(Z1) for leaky_relu: 1 where Z1 > 0, else 0.01",
                      "At exactly Z1 = 0 the derivative is a convention: NumPy, torch and the tape take 0.01, while JAX's "
                      "where(Z1 ≥ 0, …) takes 1, the one place the backends may differ."))
    notes.append(("Where autograd's sum over the examples comes from (B3, B6)",
                  f"b1 is (n_h, 1) but Z1 is (n_h, m): `+ b1` copies b1 into each of the m = {m} columns. The "
                  "backward of a copy is a sum: every copy's gradient flows back into the one b1, so autograd "
                  "returns Σ over the examples of ∂J/∂Z1, shaped like b1: the course's np.sum(dZ1, axis=1, "
                  "keepdims=True). The 1/m comes with it: J is a mean over the examples, so ∂J/∂Z1 = dZ1/m. "
                  "The same holds for b2."))
    return notes


def default_backends(activation, dtype, device=None):
    """The hand-written reference and every installed autograd backend; ({name: backend}, {missing: why})."""
    backends, missing = {"numpy": impls.get_backend("numpy", activation=activation, dtype=dtype)}, {}
    for name in (n for n in impls.BACKENDS if n != "numpy" and n not in impls.DATA_PARALLEL):
        if name in impls.available_backends():
            backends[name] = impls.get_backend(name, activation=activation, dtype=dtype, device=device)
        else:
            missing[name] = f"not installed ({impls.install_hint(name)}), so its column is empty"
    return backends, missing


def explain(params, X, Y, *, backends, missing=None, dataset="custom", at="as given"):
    """The ten equations with their NumPy lines, autograd counterparts and live differences.

    Args:
        params, X, Y: where to evaluate, course orientation.
        backends: {"numpy": the hand-written reference, "torch": …, "jax": …}; each backend after the
            first is held against the first through its forward, intermediates and gradients.
        missing: {"torch" or "jax": why it is not there}; its column stays empty, with that note.
        dataset, at: what to call the data and the parameters in the heading.

    Returns:
        Explanation: str() is the table; .ok is true when every difference is at rounding level.
    """
    names = list(backends)
    ref = backends[names[0]]
    X, Y = check_data(X, Y, ref.dtype)
    params = check_params(params, X.shape[0], Y.shape[0], ref.dtype)
    m = X.shape[1]
    values = {name: {**b.forward(params, X), **b.intermediates(params, X, Y), **b.gradients(params, X, Y)}
              for name, b in backends.items()}
    reference = values[names[0]]
    scales = rounding_scales(params, X, Y, reference)
    missing = dict(missing or {})
    columns = [n for n in names[1:] + list(missing) if n != names[0]]
    roles = _roles(ref.activation, params, m)
    numpy_path = Path(impls.numpy_backend.__file__)
    tags = tagged_lines(numpy_path)
    g_line, g_code = activation_line(numpy_path, ref.activation)
    rows = []
    for eq, equation, result in EQUATIONS:
        number, code = tags.get(eq, (None, f"(no line tagged # {eq} found)"))
        code = code.splitlines()
        if eq in ("F2", "B4") and g_line:
            code += [f"(g1, g1′ at {_relative(numpy_path)}:{g_line})", g_code]
        name = {"sigmoid": "σ", "leaky_relu": "leaky_relu"}.get(ref.activation, ref.activation)
        row = Row(eq, equation.format(g=name, gp=DERIVATIVES[ref.activation][0]), result,
                  tuple(reference[result].shape), f"{_relative(numpy_path)}:{number}" if number else
                  _relative(numpy_path), code,
                  {c: roles[eq].get(c, "a backend given by the caller") for c in columns})
        for c in columns:
            if c not in values:
                row.max_abs[c] = row.rounding[c] = None
                continue
            diff = float(np.max(np.abs(np.asarray(values[c][result], dtype=np.float64) - reference[result])))
            row.max_abs[c] = diff
            row.rounding[c] = diff / scales[result] if scales[result] > 0 else (0.0 if diff == 0 else np.inf)
        rows.append(row)
    settings = {"dataset": dataset, "X_shape": X.shape, "Y_shape": Y.shape, "n_h": params["W1"].shape[0],
                "activation": ref.activation, "dtype": ref.dtype, "m": m, "at": at}
    return Explanation(settings, rows, _notes(ref.activation, reference, m), missing, EXPLAIN_RTOL[ref.dtype])


def register(subparsers):
    from compare import cli

    p = subparsers.add_parser("explain", help="the ten equations beside the NumPy code and autograd's "
                              "counterparts, with the live differences")
    cli.add_model_args(p)
    for action in p._actions:  # explain trains nothing unless asked: it looks at the starting parameters
        if action.dest == "iterations":
            action.default, action.help = 0, "explain at the parameters after this many steps (default: 0)"
    p.add_argument("--trace", action="store_true", help="show the backward pass as an autograd engine runs "
                   "it, node by node, read from its live graph (see --backend)")
    p.add_argument("--backend", choices=TRACE_ENGINES, default="tape",
                   help="the engine --trace reads: tape, torch or jax (default: tape)")
    p.add_argument("--graph", type=Path, default=None, metavar="PATH.png",
                   help="draw the computational graph (F1–F4, the cost, B1–B6) into this PNG file")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args):
    from compare import cli

    if args.graph is not None:
        check_output(args.graph, args.dataset)  # before any work
    if args.trace or args.graph is not None:
        return _trace_and_graph(args)
    backends, missing = default_backends(args.activation, args.dtype, args.device)
    X, Y, params = cli.load_problem(args)
    at = f"from init_params(seed={args.seed})"
    if args.iterations:
        params = backends["numpy"].train(params, X, Y, learning_rate=args.lr, iterations=args.iterations).params
        at = f"after {args.iterations} steps at learning rate {args.lr:g}, " + at
    result = explain(params, X, Y, backends=backends, missing=missing, dataset=args.dataset, at=at)
    print(result)
    return 0 if result.ok else 1


TRACE_ENGINES = ("tape", "torch", "jax")


def check_output(path, dataset):
    """Refuse, before the work, an output that is a folder, a special file or the input data set."""
    from impls.files import check_destination

    check_destination(path, [("--dataset", dataset)], f"--graph {path}")


def _trace_and_graph(args):
    from compare import cli
    from compare.teach import graph, trace

    if args.trace and args.backend not in impls.available_backends():
        raise ValueError(f"--trace --backend {args.backend}: {args.backend} is not installed "
                         f"(pip install -c constraints.txt -e \".[{args.backend}]\")")
    X, Y, params = cli.load_problem(args)
    if args.iterations:
        params = impls.get_backend("numpy", activation=args.activation, dtype=args.dtype).train(
            params, X, Y, learning_rate=args.lr, iterations=args.iterations).params
    if args.trace:
        print(trace.trace(args.backend, params, X, Y, activation=args.activation, dtype=args.dtype))
    if args.graph is not None:
        graph.write_graph(args.graph, params, X, Y, activation=args.activation, dtype=args.dtype)
        print(f"Graph written to {args.graph}")
    return 0
