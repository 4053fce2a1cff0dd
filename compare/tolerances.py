"""Every tolerance the comparison and the tests use, per dtype, in one place.

Errors are relative, ‖a − b‖ / (‖a‖ + ‖b‖), unless named otherwise.
"""

# Two backends evaluating the same quantity at the same point differ only by rounding: a few ulps
# per operation over ~10 operations and sums over m examples. Measured: ~1e-16 in float64 and
# ~1e-8 in float32. The thresholds leave 1000x margin over that and are still far below any real
# mistake (a missing 1/m, a sign, a transposed product give errors of order 1e-3 to 1).
BACKEND_RTOL = {"float64": 1e-12, "float32": 1e-5}

# Central differences carry truncation error O(h²) and cancellation error O(ε·J/h); h = 1e-6
# balances them in float64 (measured 1e-9 to 1e-8 away from ReLU kinks). 1e-7 is the course's
# gradient-checking threshold. float32's ε = 6e-8 forces a larger step and a looser bound
# (measured up to 3e-3 at h = 1e-3); a wrong gradient still errs by 1e-1 or more.
FD_STEP = {"float64": 1e-6, "float32": 1e-3}
FD_RTOL = {"float64": 1e-7, "float32": 1e-2}
