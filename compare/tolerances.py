"""Every tolerance the comparison and the tests use, per dtype, in one place.

Errors are relative, ‖a − b‖ / (‖a‖ + ‖b‖), unless named otherwise.
"""

# Two backends evaluating the same quantity at the same point differ only by rounding: a few ulps
# per operation over ~10 operations and sums over m examples. Measured on the course's start:
# up to 5e-15 in float64 and 3e-6 in float32, the largest for db2 = mean(A2 − Y), a sum that
# cancels on balanced labels (its rounding, ε·mean|A2 − Y|, against ‖g‖ ≈ 6e-3). The thresholds
# leave over 30x margin and are still far below any real mistake (a missing 1/m, a sign, a
# transposed product give errors of order 1e-3 to 1). Deep networks need no other thresholds: over
# L = 1 … 4 (widths 2 to 6, m = 50, O(1) weights and biases, every activation, 3 seeds) torch, JAX and the
# tape differ from the hand-written deep network by at most 9.1e-16 in float64 and 5.7e-7 in float32 (db).
BACKEND_RTOL = {"float64": 1e-12, "float32": 1e-4}
# The data-parallel backends (torch-ddp, jax-sharded) add the shards' partial sums in another order:
# measured with 3 workers (shards of 134, 133, 133) on the course's start, the same size as one process's
# rounding, so the same thresholds hold them (python -m compare --backends numpy,torch-ddp,jax-sharded
# --workers 3): planar, gradients up to 6.5e-15 (db2), cost 5.6e-17, intermediates 1.0e-16, steps
# 4.5e-13 (one process: 2.6e-15, 4.0e-13); moons, gradients up to 2.2e-16, steps 2.7e-13. The smallest
# planted porting bug, the mean of shard means, is caught by every check at these thresholds
# (tests/test_data_parallel.py).

# Diagnosis (compare.diagnosis): a value counts as r times the reference's when, with r fitted by least
# squares, ‖got − r·ref‖ ≤ RATIO_RTOL·‖got‖, and as a named factor (m, 1/m, −1, k or 1/k for k up to 16)
# when |r − factor| ≤ RATIO_RTOL·|factor|. A sum where the reference averages is that factor up to the
# rounding of both, which is large where the sum cancels: at the course's start db2 = mean(A2 − Y) is
# 1e-6 against terms of 0.5, and a db summed instead of averaged measured 393.4 and 398.4–400.9 times
# the reference in float32 (1.6% off), 400 to 1e-12 in float64. 5e-2 in float32 holds those with 3x
# margin and still tells the named factors apart (16 and 17 are 6% apart, m = 400 is far from all).
RATIO_RTOL = {"float64": 1e-6, "float32": 5e-2}

# Central differences carry truncation error O(h²) and cancellation error O(ε·J/h); h = 1e-6
# balances them in float64 (measured 1e-9 to 1e-8 away from ReLU kinks). 1e-7 is the course's
# gradient-checking threshold. The differences are always taken in float64: in float32 they lose
# two thirds of the digits (measured 1e-2 to 8e-2 at the course's start, worse at ReLU kinks), so a
# float32 gradient is held against float64 differences of the same code, within the float32
# rounding of the gradient itself (measured up to 1.6e-6, from db2 as above).
FD_STEP = 1e-6
FD_RTOL = {"float64": 1e-7, "float32": 1e-4}
# Where the gradient itself is tiny, the differences' own rounding, ~ε·|J|/h per entry, is the bound:
# allowed on top, FD_NOISE·√P·ε·|J|/h over P entries. Measured 0.2·√P·ε·|J|/h on the circles data at
# the course's start (‖g‖ = 5e-5, against 6e-3 on the flower, where the floor plays no part). Deep
# sigmoid networks reach it too: each layer scales the gradient by σ′ ≤ 1/4, and at L = 4 dW1 (‖g‖ = 1e-3)
# measured 1.5e-7 from the differences at h = 1e-6 against 2.2e-9 at h = 1e-4, the floor's 1/h.
FD_NOISE = 10
# ReLU's kink: where a hidden pre-activation is so near 0 that θ + h and θ − h can put it on both sides, the
# differences measure a slope the cost does not have there. A deep ReLU network meets this at its start: b = 0 and an
# example whose layer-l units are all off give Z_{l+1} = 0 exactly (measured 4.1e-3 for every backend alike at
# --hidden 4,4 on planar, where 101 of the 400 examples do so; none at 20,7,5). Those examples are left out of
# the differences, and the gradient is taken on the others too: an example is left out where some |Z_l| is
# within FD_KINK times the most one parameter moved by h can move Z_l (a safety factor over that bound).
FD_KINK = 10

# Training, judged step by step: from a state on the reference trajectory, a backend's next k
# steps must land where the reference's do, within STEP_RTOL of the distance those k steps moved.
# Rounding alone gives up to 5e-13 in float64 and 2.3e-4 in float32 (measured on the course's run,
# k = 10, from 101 states; float32 rounds θ, |θ| ≈ 30, to 2e-6 against steps of 1e-2); a learning
# rate off by one part in 1e6 gives 1e-6, which float64 fails; in float32 one off by 1e-2 fails.
STEP_RTOL = {"float64": 1e-9, "float32": 5e-3}

# Predictions are compared exactly, 0/1 label against 0/1 label, at the reference's final parameters, on the
# examples whose reference probability A2 is more than this from 0.5, where two correct backends cannot round
# to different labels. Measured, numpy against torch on the five data sets, at the start and after 10000
# steps: A2 differs by at most 8.9e-16 in float64 and 4.2e-7 in float32; the margins leave 1000x and 24x.
# After the course's run no example is left out; at the small start (A2 within ~1e-4 of 0.5) none in
# float64 and 6 to 84 of 400-569 in float32. A backend that inverts its labels differs on all the others.
PREDICT_MARGIN = {"float64": 1e-12, "float32": 1e-5}

# Full trajectories are reported, not judged: over thousands of steps the dynamics amplify rounding
# (on the course's run, from ~1e-15 to 1e-4..1e-3 after iteration ~7000). This is the distance at which a
# trajectory counts as separated from the reference: rounding level, as for one evaluation.
TRAJECTORY_RTOL = BACKEND_RTOL

# explain: max |hand-written − autograd| of each equation's result over the size of the terms it is built
# from, upstream errors included (compare.teach.explain.rounding_scales), so that a value that cancels (a
# gradient near a minimum) is not judged by its own tiny size. Measured: at most 8.1e-16 (3.6 ε) in
# float64 and 3.4e-7 (2.8 ε) in float32, over all four activations on the course's start, moons,
# circles, breast cancer (m = 569), random sizes and after 1000 and 10000 steps. A sum of m terms may
# round by up to m·ε of that size (typically √m·ε), so the thresholds, ~4500 ε and ~840 ε, leave room
# for large m; a wrong sign, a missing 1/m or a transposed product give 1e-3 to 1.
EXPLAIN_RTOL = {"float64": 1e-12, "float32": 1e-4}

# check: a student's forward and backward values against the NumPy backend's, ‖Δ‖/(‖a‖+‖b‖) per array,
# on the check's random problems (O(1) weights, m < 15). Correct code written another way (np.mean for
# the sums, tanh from exponentials, einsum, A2 = e^Z2/(1+e^Z2)) differs by at most 9.8e-15 (measured on
# 200 problems); the smallest planted mistake, tanh for σ in F4, by 2.8e-2. 1e-7, the course's own
# gradient-check threshold, sits between them with five orders of magnitude on either side.
CHECK_RTOL = 1e-7

# Random problems (tests/test_validation.py): each backend's forward values, intermediates and gradients
# against the hand-written ones, max|Δ| over the size of the terms each is built from
# (compare.teach.explain.rounding_scales), the measure explain uses and so its thresholds. Measured over 634
# cases (random sizes up to 5×5×3, m up to 20, every size combination of 1 and 2, all activations):
# at most 1.3 ε in float64 and 1.0 ε in float32; the cost, a sum of non-negative terms judged by its
# own size with BACKEND_RTOL, at most 1.1 ε and 2.9 ε.
TERMS_RTOL = EXPLAIN_RTOL


def reasons():
    """name -> the comment above it in this file, the one place each tolerance's reason is written."""
    import inspect
    import sys
    reasons, block, last = {}, [], ""
    for line in inspect.getsource(sys.modules[__name__]).splitlines():
        if line.startswith("#"):
            block.append(line.lstrip("# ").rstrip())
        elif line and line[0].isupper() and "=" in line:
            last = " ".join(block) or last  # constants that share one comment share its reason
            reasons[line.split("=")[0].strip()] = last
            block = []
        elif not line.strip():
            continue
        else:
            block = []
    return reasons
