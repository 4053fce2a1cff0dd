"""Training: every backend's full trajectory (reported), the next steps from each checkpoint of the
reference's (judged), and the 0/1 predictions at the reference's final parameters (judged, exactly)."""
import math
from dataclasses import dataclass, field

import numpy as np

from compare.comparison.entrants import diverged
from compare.comparison.evaluations import flat
from compare.numerics import norm_ratio, rel_error, worst
from compare.report import Check, Trajectory
from compare.tolerances import PREDICT_MARGIN, STEP_RTOL, TRAJECTORY_RTOL


@dataclass
class Training:
    checks: list = field(default_factory=list)
    trajectories: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def checkpoints(iterations, every):
    return list(range(0, iterations, every)) + [iterations]


def _trajectory(e, setup, marks, advance):
    """The backend's parameters and cost at every checkpoint of one run, or the failure."""
    params, X, Y = setup.params, setup.X, setup.Y
    if "cost" in e.methods:
        first, error = e.call("cost", params, X, Y)
    else:  # a backend without `cost`: the cost train reports for the starting parameters
        result, error = e.call("train", params, X, Y, learning_rate=setup.learning_rate, iterations=0)
        first = None if error else result.final_cost
    states, costs = [params], [] if error else [first]
    for a, b in zip(marks, marks[1:]):
        if error:
            break
        result, error = e.call("train", states[-1], X, Y, learning_rate=setup.learning_rate, iterations=b - a,
                               record_every=b - a)
        if not error:
            states.append(result.params)
            costs.append(result.final_cost)  # the cost at this checkpoint, which train has just computed
            advance(b - a)
    return states, costs, error


def _shape_problem(setup, params):
    bad = [k for k in setup.param_names if params[k].shape != setup.params[k].shape]
    return f"train's params: {bad[0]} shape {params[bad[0]].shape} ≠ {setup.params[bad[0]].shape}" if bad else None


def _steps(setup, trainers, runs, marks, advance):
    """From each checkpoint of the reference's trajectory, every backend's next `steps` steps against the
    reference's: ‖θ − θ_ref‖ / ‖θ_ref − θ_checkpoint‖, its worst over the states, NaN included."""
    ref, others = trainers[0], trainers[1:]
    ref_states, _, ref_error = runs[ref.name]
    tol, kwargs = STEP_RTOL[setup.dtype], {"learning_rate": setup.learning_rate, "iterations": setup.steps}
    starts = ref_states[:len(marks) - 1]  # the reference's trajectory stops where its training diverged
    quantity = f"{setup.steps} steps × {len(starts)} state{'s' if len(starts) != 1 else ''}"
    if ref_error and not diverged(ref_error):  # the reference's own failure: nothing to hold the others against
        return [Check("training steps", ref.name, quantity, None, tol, note=ref_error)]
    errors = {e.name: [] for e in others}
    notes = {e.name: "" for e in others}
    both_diverged = {e.name: 0 for e in others}
    ref_note = ""
    for state in starts if others else []:
        target, ref_step_error = ref.call("train", state, setup.X, setup.Y, **kwargs)
        advance(setup.steps)
        if ref_step_error and not diverged(ref_step_error):
            ref_note = ref_step_error
            break
        theta = setup.param_names
        moved = None if ref_step_error else flat(target.params, theta) - flat(state, theta)
        for e in others:
            if notes[e.name]:
                continue  # it failed from an earlier state: that is its verdict
            got, error = e.call("train", state, setup.X, setup.Y, **kwargs)
            advance(setup.steps)
            if ref_step_error and error and diverged(error):
                both_diverged[e.name] += 1  # the same steps from the same state blow up in both: they agree on that
                continue
            notes[e.name] = error or (_shape_problem(setup, got.params) or "" if moved is not None else
                                      f"it did not diverge where the reference did ({ref_step_error})")
            if not notes[e.name]:
                miss = flat(got.params, theta) - flat(target.params, theta)
                errors[e.name].append(norm_ratio(miss, moved))
    if ref_note:
        return [Check("training steps", ref.name, quantity, None, tol, note=ref_note)]
    checks = []
    for e in others:
        name, note = e.name, notes[e.name]
        value = None if note else worst(errors[name])
        if value is not None and both_diverged[name]:
            note = (f"from {both_diverged[name]} state(s) training diverged in both alike" if errors[name] else
                    "no finite step to measure: from every state both diverged alike, and that agreement is what "
                    "was judged")
        if value is not None and not math.isfinite(value):
            value, note = None, f"the steps' error is {value} from at least one state"
        checks.append(Check("training steps", name, quantity, value, tol, note=note))
    return checks


def _predictions(setup, entrants, theta, where):
    """Every backend's 0/1 labels at θ against the reference's, exactly, on the examples whose reference
    probability is more than PREDICT_MARGIN from 0.5 (there rounding may flip a label)."""
    ref = setup.ref
    forward, error = ref.call("forward", theta, setup.X) if "forward" in ref.methods else (None, "no forward")
    ref_labels, ref_error = ref.call("predict", theta, setup.X) if "predict" in ref.methods else (None, None)
    AL = f"A{setup.L}"  # the output layer's probabilities
    if ref_labels is None and ref_error is None and forward is not None and AL in forward:
        ref_labels = (forward[AL] > 0.5).astype(np.float64)  # the reference has no predict: its AL decides
    keep, note = np.ones(setup.Y.shape, dtype=bool), ""
    if forward is not None and AL in forward and forward[AL].shape == setup.Y.shape:
        keep = np.abs(forward[AL] - 0.5) > PREDICT_MARGIN[setup.dtype]
        if not keep.all():
            note = f"{int((~keep).sum())} of {keep.size} within {PREDICT_MARGIN[setup.dtype]:.0e} of 0.5 left out"
    checks, quantity = [], f"labels {where}"
    if ref_error:
        return [Check("predictions", ref.name, quantity, None, 1, note=ref_error)]
    if ref_labels is None:
        return []
    for e in entrants[1:]:
        if "predict" not in e.methods:
            continue
        labels, error = e.call("predict", theta, setup.X)
        value = None if error else int(np.sum((labels != ref_labels) & keep))
        checks.append(Check("predictions", e.name, quantity, value, 1, note=error or note))
    return checks


def run(setup, progress):
    """Trajectories, step checks and prediction checks."""
    marks = checkpoints(setup.iterations, setup.checkpoint_every)
    ref = setup.ref
    trainers = [e for e in setup.entrants if "train" in e.methods and "train" in ref.methods]
    total = len(trainers) * (setup.iterations + setup.steps * (len(marks) - 1))
    done = [0]

    def advance(n):
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    out = Training()
    runs = {e.name: _trajectory(e, setup, marks, advance) for e in trainers}
    if len(trainers) > 1 and setup.iterations:
        out.checks += _steps(setup, trainers, runs, marks, advance)
    ref_states, _, ref_error = runs.get(ref.name, ([setup.params], [], None))
    finished = not ref_error and len(ref_states) == len(marks)
    theta = ref_states[-1] if finished else setup.params
    where = f"at θ after {setup.iterations} iterations" if finished and setup.iterations else "at the starting θ"
    out.checks += _predictions(setup, setup.entrants, theta, where)
    for e in trainers:
        states, costs, error = runs[e.name]
        distance = [rel_error(flat(state, setup.param_names), flat(ref_state, setup.param_names))
                    for state, ref_state in zip(states, ref_states)]
        separated = next((m for m, d in zip(marks, distance) if not d <= TRAJECTORY_RTOL[setup.dtype]), None)
        rises = [(costs[i + 1] - costs[i], marks[i], marks[i + 1]) for i in range(len(costs) - 1)
                 if math.isfinite(costs[i + 1] - costs[i])]
        rise = max(rises, default=None)
        final = states[-1] if not error else None
        share = None
        if final is not None and "predict" in e.methods:
            labels, _ = e.call("predict", final, setup.X)
            share = None if labels is None else float(np.mean(labels == setup.Y))
        out.trajectories.append(Trajectory(
            backend=e.name, iterations=marks[:len(costs)], costs=costs, distance=distance, separated_at=separated,
            largest_rise=[rise[1], rise[2], rise[0]] if rise and rise[0] > 0 else None,
            final_cost=costs[-1] if not error and costs else None, accuracy=share,
            params={k: np.asarray(v).tolist() for k, v in (final or {}).items()}, note=error or ""))
    return out
