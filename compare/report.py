"""The comparison's report: every check with its measured figure and threshold, as text and as JSON."""
import math
import textwrap
from dataclasses import asdict, dataclass, field

from compare.numerics import worst
from impls.base import cache_names, names_text


@dataclass
class Check:
    """One measured figure against its threshold; `value` None means it could not be measured (see `note`)."""

    section: str
    backend: str
    quantity: str
    value: float | None
    threshold: float
    max_abs: float | None = None
    own_relative: float | None = None  # ‖Δ‖/(‖a‖ + ‖b‖) with this array's own norms, where value uses others
    note: str = ""

    def __post_init__(self):
        self.note = self.note or ""
        for name in ("value", "threshold", "max_abs", "own_relative"):
            if getattr(self, name) is not None:
                setattr(self, name, float(getattr(self, name)))

    @property
    def ok(self):
        return self.value is not None and self.value < self.threshold


@dataclass
class Trajectory:
    """One backend's full training run, sampled at the checkpoints."""

    backend: str
    iterations: list
    costs: list
    distance: list          # ‖θ − θ_ref‖ / (‖θ‖ + ‖θ_ref‖) at each checkpoint
    separated_at: int | None
    largest_rise: list | None  # [from_iteration, to_iteration, rise] of the cost, if it ever rose
    final_cost: float | None
    accuracy: float | None
    params: dict = field(repr=False)
    note: str = ""


SECTIONS = {  # section: (title, what its figure means)
    "forward": ("Forward values at the starting parameters (F1-F4)", "‖Δ‖/(‖a‖+‖b‖) of {forward}"),
    "cost": ("Cost J at the starting parameters", "|ΔJ|/(|J|+|J_ref|)"),
    "gradient": ("Gradients at the starting parameters",
                 "‖Δ‖ of each parameter's gradient / (‖g‖+‖g_ref‖) over all of θ: the course's gradient-check "
                 "measure, split by parameter. Over its own norm, a sum that cancels (db2 = mean(A2 − Y) is "
                 "~1e-6 on balanced labels) would magnify rounding."),
    "intermediate": ("Intermediates of backprop, m·∂J/∂(·)",
                     "each autograd's own values at {nodes} against the hand-written {rows}: ‖Δ‖/(‖a‖+‖b‖)"),
    "repeat": ("Gradients asked for twice",
               "the second of two identical calls against the first, ‖Δ‖/(‖a‖+‖b‖) over all of θ: gradients added "
               "into a buffer that is never cleared differ"),
    "finite differences": ("Central finite differences: the independent oracle",
                           "(J(θ+h) − J(θ−h)) / 2h in float64 for every parameter entry, against each "
                           "backend's gradient: ‖Δ‖/(‖a‖+‖b‖) over all of θ"),
    "training steps": ("Training, step by step",
                       "from each checkpoint of the reference's trajectory, every backend takes the next steps: "
                       "‖θ−θ_ref‖ after them / ‖θ_ref−θ_checkpoint‖, the size of those steps"),
    "predictions": ("Predictions, label by label",
                    "how many 0/1 labels differ from the reference's, on the examples whose reference probability "
                    "is not within rounding of 0.5"),
    "inputs": ("Inputs left as given",
               "how many of the arrays it was given ({params}, X, Y) any of its calls changed in place; "
               "every call gets its own copies, so a change reaches no other backend"),
}
COUNTS = ("predictions", "inputs")  # sections whose figure is a count that must be 0 (threshold 1: fewer than one)


def meaning(section, dims):
    """What a section's figure means, with the names of a network of `dims` = [n_x, n_1, …, n_L] written in."""
    L = len(dims) - 1
    if L <= 3:
        forward = ", ".join(cache_names(L))
        nodes = ", ".join(["Z{}".format(L)] + [f"{k}{l}" for l in range(L - 1, 0, -1) for k in "AZ"])
        rows = ", ".join(["B1"] + [f"W{l + 1}ᵀdZ{l + 1}, B4" for l in range(L - 1, 0, -1)])
    else:
        forward, nodes = f"Z1, A1, …, Z{L}, A{L}", f"Z{L}, A{L - 1}, Z{L - 1}, …, A1, Z1"
        rows = f"B1, then dA_l = W_(l+1)ᵀ dZ_(l+1) and B4 for each layer l = {L - 1} … 1"
    text = SECTIONS[section][1]
    return text.format(forward=forward, nodes=nodes, rows=rows, params=names_text(L)) if "{" in text else text


@dataclass
class Report:
    """What `compare_backends` returns: `.ok`, `str(report)`, `.to_dict()`."""

    settings: dict
    checks: list
    trajectories: list
    notes: list = field(default_factory=list)
    not_provided: dict = field(default_factory=dict)  # backend: the contract's methods it lacks
    differences: dict = field(default_factory=dict)   # failing backend: where it first differs, and why
    record: dict = field(default_factory=dict)        # versions, switches, tolerances, per-value figures
    unjudged: dict = field(default_factory=dict)      # backend that took part in no check of its map: why

    @property
    def ok(self):
        """Every check passes, there is one, and every backend took part in a check of its map."""
        return bool(self.checks) and all(c.ok for c in self.checks) and not self.unjudged

    @property
    def failures(self):
        return [c for c in self.checks if not c.ok]

    def to_dict(self):
        checks = [{**asdict(c), "ok": c.ok} for c in self.checks]
        return _finite({"ok": self.ok, "settings": self.settings, "checks": checks,
                        "trajectories": [asdict(t) for t in self.trajectories], "notes": self.notes,
                        "not_provided": self.not_provided, "differences": self.differences,
                        "record": self.record, "unjudged": self.unjudged})

    @classmethod
    def from_dict(cls, d):
        return cls(settings=d["settings"],
                   checks=[Check(**{k: v for k, v in c.items() if k != "ok"}) for c in d["checks"]],
                   trajectories=[Trajectory(**t) for t in d["trajectories"]], notes=d["notes"],
                   not_provided=d.get("not_provided", {}), differences=d.get("differences", {}),
                   record=d.get("record", {}), unjudged=d.get("unjudged", {}))

    def __str__(self):
        return render(self)


def _finite(x):
    """JSON has no NaN or infinity: such a figure becomes None (not measurable)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _fmt(value, spec=".1e"):
    return "—" if value is None else format(value, spec)


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _cell(c):
    value = ("—" if c.value is None else str(int(c.value))) if c.section in COUNTS else _fmt(c.value)
    return f"{value} {'ok' if c.ok else 'FAIL'}"


def render(report):
    s = report.settings
    workers = s.get("workers", {})
    names = [f"{n} ({workers[n]} workers)" if n in workers else n for n in s["backends"]]
    head = (f"{names[0]} (reference) against {', '.join(names[1:])}" if names[1:] else
            f"{names[0]} alone: nothing to compare against but finite differences")
    dims = s.get("layer_dims") or [s["X_shape"][0], s["n_h"], s["Y_shape"][0]]  # a report of before layer_dims
    network = f"n_h={dims[1]}" if len(dims) == 3 else f"layer_dims {dims}"
    lines = [f"backprop-compare: {head}",
             f"  data {s['dataset']}: X {tuple(s['X_shape'])}, Y {tuple(s['Y_shape'])}; {network}, "
             f"{s['activation']}, {s['dtype']}; learning rate {s['learning_rate']:g}, "
             f"{s['iterations']} iterations, checkpoints every {s['checkpoint_every']}", ""]
    for section in SECTIONS:
        checks = [c for c in report.checks if c.section == section]
        if not checks:
            continue
        title = SECTIONS[section][0]
        lines.append(f"{title}  ({'must be 0' if section in COUNTS else f'threshold {checks[0].threshold:.0e}'})")
        lines += textwrap.wrap(meaning(section, dims), 100, initial_indent="  ", subsequent_indent="  ")
        quantities = list(dict.fromkeys(c.quantity for c in checks))
        backends = list(dict.fromkeys(c.backend for c in checks))
        by_key = {(c.quantity, c.backend): c for c in checks}
        shared = {c.note for c in checks}
        shared = shared.pop() if len(shared) == 1 else ""  # a note every cell has is said once, below
        rows = [[""] + backends]
        for q in quantities:
            row = [q]
            for b in backends:
                c = by_key.get((q, b))
                row.append("" if c is None else _cell(c) + (f" ({c.note})" if c.note and not shared else ""))
            rows.append(row)
        lines += _table(rows) + (textwrap.wrap(f"({shared})", 100, initial_indent="  ", subsequent_indent="   ")
                                   if shared else []) + [""]
    if not report.trajectories:
        lines.append("No training run: the reference or every other backend does not provide train.")
    else:
        lines += _trajectory_table(report, s, names)
    lines += [""] + [line for note in report.notes for line in textwrap.wrap(note, 100)]
    for name, missing in report.not_provided.items():
        lines += textwrap.wrap(f"{name} does not provide {', '.join(missing)}: the checks that need "
                               f"{'it' if len(missing) == 1 else 'them'} are not run for it.", 100)
    for name, d in report.differences.items():
        lines += textwrap.wrap(f"Where {name} differs: {d['first_difference']}.", 100)
        lines += textwrap.wrap(f"Why: {' '.join(d['diagnosis'])}", 100, initial_indent="  ",
                               subsequent_indent="  ") if d["diagnosis"] else []
    for name, why in report.unjudged.items():
        lines += textwrap.wrap(f"{name} took part in no check of what it computes: {why}. It has not passed.", 100)
    failures = report.failures
    if failures:
        lines.append(f"{len(failures)} check(s) FAILED: " + "; ".join(
            f"{c.backend} {c.section} {c.quantity}" for c in failures[:6]) + ("; …" if len(failures) > 6 else ""))
    elif report.unjudged or not report.checks:
        lines.append(f"NOT a pass: {', '.join(report.unjudged) or names[0]} took part in no check of what "
                     f"{'it computes' if len(report.unjudged) < 2 else 'they compute'}.")
    elif len(names) == 1:
        lines.append(f"{len(report.checks)} check(s) pass: {names[0]}'s gradients agree with finite differences "
                     "of its own cost; no other backend was compared.")
    else:
        lines.append(f"All {len(report.checks)} checks pass: the backends compute the same map.")
    return "\n".join(lines)


def _trajectory_table(report, s, names):
    lines = []
    lines.append(f"Full trajectories, reported, not judged: distance ‖θ − θ_ref‖/(‖θ‖ + ‖θ_ref‖); "
                 f"separated = first checkpoint past {s['trajectory_tolerance']:.0e}")
    rows = [["backend", "final cost", "accuracy", "separated at", "max distance", "largest cost rise"]]
    for t in report.trajectories:
        rise = "—" if not t.largest_rise else f"+{t.largest_rise[2]:.2g} ({t.largest_rise[0]}→{t.largest_rise[1]})"
        rows.append([t.backend, _fmt(t.final_cost, ".6g"), "—" if t.accuracy is None else f"{100 * t.accuracy:.2f}%",
                     "reference" if t.backend == names[0] else (t.separated_at if t.separated_at is not None else
                                                                  "stopped" if t.note else "never"),
                     _fmt(worst(t.distance), ".1e") if t.distance and None not in t.distance else "—", rise])
    return lines + _table(rows)
