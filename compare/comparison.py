"""compare_backends: do the backends compute the same map? Cost, gradients, intermediates, finite
differences and training, each measured against a threshold from compare.tolerances."""
import math

import numpy as np

from compare import diagnosis, tolerances
from compare.numerics import accuracy, max_abs_diff, norm_ratio, numerical_gradients, rel_error
from compare.report import Check, Report, Trajectory
from compare.tolerances import BACKEND_RTOL, FD_NOISE, FD_RTOL, FD_STEP, STEP_RTOL, TRAJECTORY_RTOL
from impls.base import (GRAD_NAMES, INTERMEDIATE_NAMES, PARAM_NAMES, Backend, TrainingDiverged, check_count,
                        check_data, check_learning_rate, check_params)

# The contract's methods, and which checks each one allows.
METHODS = ("cost", "gradients", "intermediates", "forward", "train", "predict")


def provided(backend):
    """The contract's methods `backend` has, in METHODS order."""
    return [m for m in METHODS if callable(getattr(backend, m, None))]


def _attempt(fn, *args, **kwargs):
    """(result, None), or (None, what went wrong): one backend's failure is a failed check, not a crash."""
    try:
        return fn(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001 - a user's own backend may raise anything
        return None, f"raised {type(e).__name__}: {e}"


def _diverged(error):
    """Whether an _attempt's error is the divergence guard's TrainingDiverged."""
    return error.startswith(f"raised {TrainingDiverged.__name__}:")


def _flat(arrays, names):
    return np.concatenate([np.asarray(arrays[k], dtype=np.float64).ravel() for k in names])


def _shape_problem(got, expected, names):
    """None if `got` has every array of `expected` with its shape, else what differs."""
    if got is None or not all(k in got for k in names):
        return f"missing {[k for k in names if got is None or k not in got]}"
    for k in names:
        if np.shape(got[k]) != np.shape(expected[k]):
            return f"{k} shape {np.shape(got[k])} ≠ {np.shape(expected[k])}"
    return None


def _array_checks(section, backend, got, error, reference, names, tol, whole=False):
    """One check per array: ‖Δ‖/(‖a‖ + ‖b‖), with the norms of that array or, if `whole`, of all of them."""
    checks = []
    everything = None
    if whole and not error and not _shape_problem(got, reference, names):
        everything = (_flat(reference, names), _flat(got, names))
    for k in names:
        note = error or _shape_problem(got, reference, [k])
        if note:
            checks.append(Check(section, backend, k, None, tol, note=note))
            continue
        own = rel_error(reference[k], got[k])
        value = own
        if everything is not None:  # ‖Δ‖ / (‖a‖ + ‖b‖) over all of θ, each norm scaled so that none overflows
            diff = np.asarray(got[k], dtype=np.float64) - reference[k]
            a, b = norm_ratio(everything[0], diff), norm_ratio(everything[1], diff)
            value = 0.0 if not np.any(diff) else 1 / (a + b) if a + b > 0 else math.inf
        checks.append(Check(section, backend, k, value, tol, max_abs=max_abs_diff(reference[k], got[k]),
                            own_relative=own))
    return checks


def _float64_cost(backend):
    """The backend's cost function evaluated in float64: a float64 twin of a float32 backend."""
    if getattr(backend, "dtype", "float64") == "float64":
        return backend.cost
    if isinstance(backend, Backend) or hasattr(backend, "activation"):  # a user's class constructs as ours do
        extra = {"workers": backend.workers} if getattr(backend, "workers", 1) != 1 else {}
        twin, _ = _attempt(type(backend), activation=backend.activation, dtype="float64",
                           device=getattr(backend, "device", None), **extra)
        return getattr(twin, "cost", None)
    return None


def _checkpoints(iterations, every):
    return list(range(0, iterations, every)) + [iterations]


def _trajectory(backend, params, X, Y, learning_rate, marks, on_chunk):
    """The backend's parameters and cost at every checkpoint of one run, or the failure."""
    if callable(getattr(backend, "cost", None)):
        first, error = _attempt(backend.cost, params, X, Y)
    else:  # a backend without `cost`: the cost train reports for the starting parameters
        first, error = _attempt(lambda: backend.train(params, X, Y, learning_rate=learning_rate,
                                                      iterations=0).final_cost)
    states, costs = [params], [] if error else [first]
    for a, b in zip(marks, marks[1:]):
        if error:
            break
        result, error = _attempt(backend.train, states[-1], X, Y, learning_rate=learning_rate,
                                 iterations=b - a, record_every=b - a)
        if not error:
            states.append(result.params)
            costs.append(result.final_cost)  # the cost at this checkpoint, which train has just computed
            on_chunk(b - a)
    return states, costs, error


def compare_backends(backends, params, X, Y, *, learning_rate, iterations, checkpoint_every=None,
                     steps=10, dataset="custom", seed=None, progress=None):
    """Check that every backend computes what the first one (the reference) computes.

    Args:
        backends: objects with the backend contract (name, cost, gradients, intermediates, forward,
            train, predict), or part of it: the checks their methods allow are run, the others listed
            as not provided. The first is the reference, normally the hand-written numpy backend.
        params, X, Y: the starting parameters and the data, course orientation.
        learning_rate, iterations: the training run every backend makes.
        checkpoint_every: spacing of the checkpoints on each trajectory (default iterations/100).
        steps: how many steps each backend takes from each checkpoint of the reference's trajectory.
        dataset: a name for the report.
        seed: the seed the parameters and data came from, for the report's record.
        progress: called as progress(done, total) as the training work advances.

    Returns:
        Report with .ok, str(report) and .to_dict().
    """
    if not backends:
        raise ValueError("compare_backends needs at least one backend")
    names = [getattr(b, "name", None) or type(b).__name__ for b in backends]
    if len(set(names)) != len(names):
        raise ValueError(f"backend names must differ, got {names}")
    have = {name: provided(b) for b, name in zip(backends, names)}
    for name in names:
        if not {"cost", "gradients", "forward", "train"} & set(have[name]):
            raise ValueError(f"backend {name!r} provides none of the methods cost, gradients, forward, train: "
                             "there is nothing to compare")
    dtype = getattr(backends[0], "dtype", "float64")
    for attr in ("dtype", "activation"):
        values = {getattr(b, attr) for b in backends if hasattr(b, attr)}
        if len(values) > 1:
            raise ValueError(f"all backends must share one {attr}, got {sorted(values)}")
    check_learning_rate(learning_rate)
    iterations = check_count(iterations, "iterations", 0)
    checkpoint_every = check_count(max(1, iterations // 100) if checkpoint_every is None else checkpoint_every,
                                   "checkpoint_every", 1)
    steps = check_count(steps, "steps", 1)
    X, Y = check_data(X, Y, dtype)
    params = check_params(params, X.shape[0], Y.shape[0], dtype)
    ref, others = backends[0], backends[1:]
    tol = BACKEND_RTOL[dtype]
    checks, notes = [], []

    # Cost, gradients and intermediates at the starting parameters, against the reference.
    values = {}
    for b, name in zip(backends, names):
        values[name] = {method: _attempt(getattr(b, method), params, X, Y) if method != "forward" else
                        _attempt(b.forward, params, X)
                        for method in ("cost", "gradients", "intermediates", "forward") if method in have[name]}
        if "gradients" in have[name]:  # a second identical call: gradients that accumulate across calls differ
            values[name]["gradients again"] = _attempt(b.gradients, params, X, Y)
    ref_values = values[names[0]]
    for b, name in zip(others, names[1:]):
        both = set(have[name]) & set(have[names[0]])
        if "cost" in both:
            (ref_cost, ref_err), (cost, err) = ref_values["cost"], values[name]["cost"]
            err = err or ref_err
            checks.append(Check("cost", name, "J", None if err else rel_error(ref_cost, cost), tol,
                                max_abs=None if err else max_abs_diff(ref_cost, cost), note=err or ""))
        if "gradients" in both:
            (ref_grads, ref_err), (grads, err) = ref_values["gradients"], values[name]["gradients"]
            checks += _array_checks("gradient", name, grads, err or ref_err, ref_grads, GRAD_NAMES, tol, whole=True)
        if "intermediates" in both:
            (ref_inner, ref_err), (inner, err) = ref_values["intermediates"], values[name]["intermediates"]
            checks += _array_checks("intermediate", name, inner, err or ref_err, ref_inner, INTERMEDIATE_NAMES, tol)

    # Finite differences: an oracle that trusts no backend's gradient, only its cost, taken in float64.
    X64, params64 = X.astype(np.float64), {k: v.astype(np.float64) for k, v in params.items()}
    ref_cost = ref_values.get("cost", (None, None))[0]
    for b, name in zip(backends, names):
        if not {"cost", "gradients"} <= set(have[name]):
            continue
        grads, err = values[name]["gradients"]
        cost64 = _float64_cost(b)
        if cost64 is None:
            notes.append(f"{name}: no finite-difference check, its cost cannot be evaluated in float64")
            continue
        fd, fd_err = _attempt(numerical_gradients, lambda p: cost64(p, X64, Y), params64, FD_STEP)
        note = err or fd_err or _shape_problem(grads, fd, GRAD_NAMES)
        threshold = FD_RTOL[dtype]
        value = None
        if not note:
            a, g = _flat(fd, GRAD_NAMES), _flat(grads, GRAD_NAMES)
            value = rel_error(a, g)
            # The differences cannot resolve less than their own rounding, ~ε·|J|/h per entry: where the
            # gradient is that small (symmetric data at a small start), a value past the course's bound is
            # held against that rounding instead, and the report says so.
            floor = FD_NOISE * math.sqrt(a.size) * np.finfo(np.float64).eps * abs(ref_cost or 0.0) / FD_STEP
            scale = (norm_ratio(a, [1.0]) + norm_ratio(g, [1.0])) if np.all(np.isfinite([a, g])) else 0.0
            if value >= threshold and scale > 0:
                threshold = FD_RTOL[dtype] + floor / scale
                note = f"bound raised by the differences' rounding, {floor:.0e} against ‖g‖ {scale / 2:.0e}"
        checks.append(Check("finite differences", name, f"all θ, h={FD_STEP:g}", value, threshold,
                            note=note or ""))

    # Training: full trajectories, then `steps` steps of every backend from each reference checkpoint.
    marks = _checkpoints(iterations, checkpoint_every)
    trainers = [(b, name) for b, name in zip(backends, names) if "train" in have[name] and "train" in have[names[0]]]
    total = len(trainers) * (iterations + steps * (len(marks) - 1))
    done = [0]

    def advance(n):
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    runs = {name: _trajectory(b, params, X, Y, learning_rate, marks, advance) for b, name in trainers}
    ref_states, _, ref_err = runs.get(names[0], ([], [], None))
    step_errors = {name: [] for _, name in trainers[1:]}
    # A reference run that diverged still has its states up to there to take steps from; any other failure
    # of the reference leaves nothing to judge.
    step_notes = {name: ref_err and not _diverged(ref_err) and f"reference {ref_err}" for _, name in trainers[1:]}
    both_diverged = {name: 0 for _, name in trainers[1:]}
    for state in ref_states[:len(marks) - 1] if trainers[1:] else []:
        target, ref_step_err = _attempt(ref.train, state, X, Y, learning_rate=learning_rate, iterations=steps)
        advance(steps)
        moved = None if ref_step_err else _flat(target.params, PARAM_NAMES) - _flat(state, PARAM_NAMES)
        for b, name in trainers[1:]:
            got, err = _attempt(b.train, state, X, Y, learning_rate=learning_rate, iterations=steps)
            advance(steps)
            if ref_step_err and err and _diverged(ref_step_err) and _diverged(err):
                both_diverged[name] += 1  # the same steps from the same state blow up in both: they agree on that
                continue
            problem = err or (_shape_problem(got.params, target.params, PARAM_NAMES) if moved is not None else
                              f"the reference {ref_step_err}")
            if problem:
                step_notes[name] = step_notes[name] or problem
                continue
            # ‖θ − θ_ref‖ / ‖θ_ref − θ_checkpoint‖, scaled before the norms: parameters of 1e300 do not overflow
            miss = _flat(got.params, PARAM_NAMES) - _flat(target.params, PARAM_NAMES)
            step_errors[name].append(norm_ratio(miss, moved))
    for name in list(step_errors) if iterations else []:
        value = None if step_notes[name] else max(step_errors[name], default=0.0)
        if value is not None and both_diverged[name]:
            step_notes[name] = (f"from {both_diverged[name]} state(s) training diverged in both alike"
                                + ("" if step_errors[name] else "; no step was left to measure"))
        if value is not None and not math.isfinite(value):
            value, step_notes[name] = None, "the steps' error is not a finite number"
        checks.append(Check("training steps", name, f"{steps} steps × {len(marks) - 1} states",
                            value, STEP_RTOL[dtype], note=step_notes[name] or ""))

    trajectories = []
    for b, name in trainers:
        states, costs, err = runs[name]
        distance = [rel_error(_flat(s, PARAM_NAMES), _flat(r, PARAM_NAMES)) for s, r in zip(states, ref_states)]
        separated = next((m for m, d in zip(marks, distance) if d > TRAJECTORY_RTOL[dtype]), None)
        rises = [(costs[i + 1] - costs[i], marks[i], marks[i + 1]) for i in range(len(costs) - 1)]
        rise = max(rises, default=None)
        final = states[-1] if not err else None
        share = None if final is None or "predict" not in have[name] else _attempt(accuracy, b, final, X, Y)[0]
        trajectories.append(Trajectory(
            backend=name, iterations=marks[:len(costs)], costs=costs, distance=distance, separated_at=separated,
            largest_rise=[rise[1], rise[2], rise[0]] if rise and rise[0] > 0 else None,
            final_cost=costs[-1] if not err else None, accuracy=share,
            params={k: np.asarray(v).tolist() for k, v in (final or {}).items()}, note=err or ""))

    settings = {"backends": names, "dataset": dataset, "X_shape": list(X.shape), "Y_shape": list(Y.shape),
                "n_h": params["W1"].shape[0], "activation": getattr(ref, "activation", "?"), "dtype": dtype,
                "learning_rate": float(learning_rate), "iterations": iterations,
                "checkpoint_every": checkpoint_every, "steps": steps,
                "trajectory_tolerance": TRAJECTORY_RTOL[dtype], "seed": seed}
    report = Report(settings=settings, checks=checks, trajectories=trajectories)
    report.not_provided = {name: [m for m in METHODS if m not in have[name]] for name in names
                           if len(have[name]) < len(METHODS)}
    failing = {c.backend for c in report.failures}
    stats = {}
    for b, name in zip(others, names[1:]):
        found, err = _attempt(diagnosis.diagnose, ref_values, values[name], X.shape[1], settings["activation"],
                              dtype)  # values a user's backend returns in odd forms must not stop the report
        stats[name], where, line, why = found or ({}, None, f"the walk could not be made: it {err}", [])
        if name in failing:
            report.differences[name] = {"where": where, "first_difference": line, "diagnosis": why}
    report.record = record(backends, names, dtype, stats)
    if len(backends) == 1:
        notes.insert(0, f"only {names[0]}: there is nothing to compare it against but finite differences of its "
                     "own cost, so this report says nothing about any other implementation.")
    report.notes = notes + _explain_separation(report)
    return report


def record(backends, names, dtype, stats):
    """What a reader needs to reproduce and trust the report: versions, switches, tolerances, per-value figures."""
    import platform
    import sys
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    switches = {"devices": {n: str(getattr(b, "device", None) or "cpu") for b, n in zip(backends, names)}}
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
    for b, name in zip(backends, names):
        module = sys.modules.get(type(b).__module__)
        top = sys.modules.get(type(b).__module__.partition(".")[0])
        version = getattr(module, "__version__", None) or getattr(top, "__version__", None)
        if version is not None and not type(b).__module__.startswith("impls."):
            versions[f"{name} ({type(b).__module__})"] = str(version)
    try:
        from threadpoolctl import threadpool_info
        switches["blas_threads"] = {f"{p['internal_api']} {p.get('version')}": p["num_threads"]
                                    for p in threadpool_info()}
    except ImportError:
        switches["blas_threads"] = "threadpoolctl not installed"
    why = tolerances.reasons()
    tols = {k: {"value": getattr(tolerances, k), "reason": why[k]} for k in why}
    return {"versions": versions, "switches": switches, "tolerances": tols, "values": stats}


def _explain_separation(report):
    """Say why trajectories that pass the step checks still end apart."""
    steps_ok = {c.backend for c in report.checks if c.section == "training steps" and c.ok}
    if not report.trajectories:
        return []
    ref = report.trajectories[0]
    notes = []
    if ref.note:
        notes.append(f"the reference {ref.backend} stopped after iteration {ref.iterations[-1]}: {ref.note}; "
                     "the other runs are compared up to there.")
    for t in report.trajectories[1:]:
        if t.note:
            notes.append(f"{t.backend}'s run stopped after iteration {t.iterations[-1] if t.iterations else 0}: "
                         f"{t.note}.")
        if t.separated_at is None:
            if t.distance and not (t.note or ref.note) and all(map(math.isfinite, t.distance)):
                notes.append(f"{t.backend} stayed within {report.settings['trajectory_tolerance']:.0e} of the "
                             f"reference for the whole run (max {max(t.distance):.1e}).")
            continue
        spike = ""
        if ref.largest_rise:
            a, b, rise = ref.largest_rise
            spike = f"; the reference's cost rose by {rise:.2g} between iterations {a} and {b}"
        verdict = ("every step-by-step check passed, so this is rounding amplified by the dynamics, "
                   "not a different map" if t.backend in steps_ok else
                   "the step-by-step check failed too: this backend computes a different map")
        notes.append(f"{t.backend} separated from the reference at iteration {t.separated_at} "
                     f"(max distance {max(t.distance):.1e}){spike}; {verdict}.")
    return notes
