"""The verdict: the inputs check, which backends took part in nothing judged, where each failing backend first
differs and why, the agreement record, and the notes that explain the trajectories."""
import math
import platform
import sys

import numpy as np

from compare import diagnosis, tolerances
from compare.comparison.entrants import METHODS
from compare.comparison.evaluations import problem
from compare.numerics import worst
from compare.report import Check, Report
from compare.units import units_note

METHOD_ORDER = ("forward", "cost", "gradients", "intermediates", "train", "predict")


def changed_sentence(e, setup):
    """What the backend changed of its inputs, in place, in which methods; '' if nothing."""
    if not e.changed:
        return ""
    params = [k for k in setup.param_names if k in e.changed]
    data = [k for k in ("X", "Y") if k in e.changed]
    methods = sorted({m for ms in e.changed.values() for m in ms}, key=METHOD_ORDER.index)
    parts = ([f"changes the parameters it is given, in place: {', '.join(params)}"] if params else []) + \
        ([f"changes {' and '.join(data)} in place"] if data else [])
    return f"{'; '.join(parts)} (in {', '.join(methods)})"


def input_checks(setup):
    """One check per backend: the number of input arrays any of its calls changed (each call got its own copies,
    so a change reaches no other backend; it is this backend's failure)."""
    return [Check("inputs", e.name, "params, X, Y", len(e.changed), 1, note=changed_sentence(e, setup))
            for e in setup.entrants]


def unjudged(setup, checks):
    """name -> why, for every backend that took part in no check of its map (the inputs and the repeated call
    say nothing about the map): it has not passed. The reference takes part in every comparison."""
    judged = {c.backend for c in checks if c.section not in ("inputs", "repeat")}
    out = {}
    for e in setup.entrants:
        if e.name in judged or (e is setup.ref and judged):
            continue
        if len(setup.entrants) == 1:
            out[e.name] = ("alone, a backend is judged by finite differences of its own cost, which need cost and "
                           f"gradients; it provides {', '.join(e.methods)}")
        else:
            out[e.name] = (f"none of what it provides ({', '.join(e.methods)}) could be held against what the "
                           f"reference {setup.ref.name} provides ({', '.join(setup.ref.methods)})")
    return out


def differences(setup, values, report, activation):
    """name -> where it first differs and why, for every failing backend; and per-value figures for the record."""
    failing = {c.backend for c in report.failures} | set(report.unjudged)
    found, stats = {}, {}
    ref_values = values[setup.ref.name]
    for e in setup.entrants:
        why_changed = changed_sentence(e, setup)
        if e is setup.ref:
            if any(c.backend == e.name for c in report.failures):  # its own checks fail (unjudged says itself)
                sections = list(dict.fromkeys(c.section for c in report.failures if c.backend == e.name))
                sentences = [s for s in (_accumulates(setup, values[e.name]), why_changed and f"It {why_changed}.")
                             if s]
                found[e.name] = {"where": None, "first_difference": f"the reference's own checks fail: "
                                 f"{', '.join(sections) or 'none judged'}", "diagnosis": sentences}
            continue
        try:
            stats[e.name], where, line, why = diagnosis.diagnose(ref_values, values[e.name], setup.X.shape[1],
                                                                 activation, setup.dtype, X=setup.X)
        except Exception as err:  # noqa: BLE001 - values a user's backend returns in odd forms must not stop the report
            stats[e.name], where, line, why = {}, None, f"the walk could not be made: it raised {err!r}", []
        if e.name in failing:
            if why_changed:
                why = [f"It {why_changed}: each call got its own copy, so no other backend saw the change."] + why
            found[e.name] = {"where": where, "first_difference": line, "diagnosis": why}
    return found, stats


def _accumulates(setup, values):
    first, again = values.get("gradients"), values.get("gradients again")
    if first is None or again is None or any(problem(setup, first, k) or problem(setup, again, k)
                                             for k in setup.grad_names):
        return None
    changed = diagnosis.accumulates(first[0], again[0], setup.dtype, setup.L)
    return changed[2][0].upper() + changed[2][1:] if changed else None


def record(setup, stats):
    """What a reader needs to reproduce and trust the report: versions, switches, tolerances, per-value figures."""
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    switches = {"devices": {e.name: str(getattr(e.backend, "device", None) or "cpu") for e in setup.entrants}}
    # torch and JAX as the backends compared imported them: the record imports neither for itself
    if getattr(sys.modules.get("torch"), "__version__", None):
        torch = sys.modules["torch"]
        versions["torch"] = torch.__version__
        switches |= {"torch_threads": torch.get_num_threads(),
                     "torch_float32_matmul_precision": torch.get_float32_matmul_precision()}
    if getattr(sys.modules.get("jax"), "__version__", None):
        jax = sys.modules["jax"]
        versions["jax"] = jax.__version__
        switches |= {"jax_enable_x64": bool(jax.config.jax_enable_x64),
                     "jax_default_matmul_precision": jax.config.jax_default_matmul_precision}
    for e in setup.entrants:
        if e.isolated:  # its own process: its module, and the settings of the frameworks it imported there
            module, version = e.backend.source_module, e.backend.source_version
            if e.backend.switches:
                switches[f"{e.name} (own process)"] = e.backend.switches
        else:
            module = type(e.backend).__module__
            top = sys.modules.get(module.partition(".")[0])
            version = getattr(sys.modules.get(module), "__version__", None) or getattr(top, "__version__", None)
        if version is not None and not module.startswith("impls."):
            versions[f"{e.name} ({module})"] = str(version)
    try:
        from threadpoolctl import threadpool_info
        switches["blas_threads"] = {f"{p['internal_api']} {p.get('version')}": p["num_threads"]
                                    for p in threadpool_info()}
    except ImportError:
        switches["blas_threads"] = "threadpoolctl not installed"
    why = tolerances.reasons()
    tols = {k: {"value": getattr(tolerances, k), "reason": why[k]} for k in why}
    return {"versions": versions, "switches": switches, "tolerances": tols, "values": stats}


def not_compared(setup):
    """Notes for the methods a backend has that the reference lacks: never compared, so never judged ok."""
    notes = []
    for e in setup.others:
        missing = [m for m in METHOD_ORDER if m in e.methods and m not in setup.ref.methods]
        if missing:
            notes.append(f"{e.name}'s {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not compared: "
                         f"the reference {setup.ref.name} does not provide {'it' if len(missing) == 1 else 'them'}.")
    return notes


def explain_separation(report):
    """Say why trajectories that pass the step checks still end apart."""
    steps_ok = {c.backend for c in report.checks if c.section == "training steps" and c.ok}
    if not report.trajectories:
        return []
    ref = report.trajectories[0]
    notes = []
    if ref.note:
        last = ref.iterations[-1] if ref.iterations else 0
        notes.append(f"the reference {ref.backend} stopped after iteration {last}: {ref.note}; the other runs are "
                     "compared up to there.")
    for t in report.trajectories[1:]:
        if t.note:
            notes.append(f"{t.backend}'s run stopped after iteration {t.iterations[-1] if t.iterations else 0}: "
                         f"{t.note}.")
        if t.separated_at is None:
            if t.distance and not (t.note or ref.note) and all(map(math.isfinite, t.distance)):
                notes.append(f"{t.backend} stayed within {report.settings['trajectory_tolerance']:.0e} of the "
                             f"reference for the whole run (max {worst(t.distance):.1e}).")
            continue
        spike = ""
        if ref.largest_rise:
            a, b, rise = ref.largest_rise
            spike = f"; the reference's cost rose by {rise:.2g} between iterations {a} and {b}"
        verdict = ("every step-by-step check passed, so this is rounding amplified by the dynamics, "
                   "not a different map" if t.backend in steps_ok else
                   "the step-by-step check failed too: this backend computes a different map")
        notes.append(f"{t.backend} separated from the reference at iteration {t.separated_at} "
                     f"(max distance {worst(t.distance):.1e}){spike}; {verdict}.")
    return notes


def lost_units(setup, trajectories):
    """A note when the reference's trained ReLU network has lost most hidden units of a layer (compare/units.py)."""
    ref = next((t for t in trajectories if t.backend == setup.ref.name and t.params and not t.note), None)
    if ref is None or not setup.iterations:
        return []
    note = units_note(ref.params, setup.X, setup.activation, f"in {ref.backend}'s trained network")
    return [note] if note else []


def report(setup, values, checks, notes, trajectories, *, dataset, seed):
    """The Report of the whole comparison."""
    workers = {e.name: e.backend.workers for e in setup.entrants
               if isinstance(getattr(e.backend, "workers", None), int) and e.backend.workers > 1}
    settings = {"backends": [e.name for e in setup.entrants], "dataset": dataset, "X_shape": list(setup.X.shape),
                "Y_shape": list(setup.Y.shape), "n_h": setup.layer_dims[1] if setup.L == 2 else None,
                "layer_dims": setup.layer_dims, "activation": setup.activation,
                "dtype": setup.dtype, "learning_rate": setup.learning_rate, "iterations": setup.iterations,
                "checkpoint_every": setup.checkpoint_every, "steps": setup.steps,
                "trajectory_tolerance": tolerances.TRAJECTORY_RTOL[setup.dtype], "seed": seed, "workers": workers}
    result = Report(settings=settings, checks=checks, trajectories=trajectories)
    result.unjudged = unjudged(setup, checks)
    result.not_provided = {e.name: [m for m in METHODS if m not in e.methods] for e in setup.entrants
                           if len(e.methods) < len(METHODS)}
    result.differences, stats = differences(setup, values, result, setup.activation)
    result.record = record(setup, stats)
    if len(setup.entrants) == 1:
        notes.insert(0, f"only {setup.ref.name}: there is nothing to compare it against but finite differences of "
                     "its own cost, so this report says nothing about any other implementation.")
    own = [text for e in setup.entrants for text in e.notes.values()]
    result.notes = notes + own + not_compared(setup) + explain_separation(result) + lost_units(setup, trajectories)
    return result

