"""Input checks that every entry point shares: a name among the choices, a whole number, a learning rate, and
the data X (n_x, m), Y (n_y, m) as finite arrays of the dtype. Each refusal is a ValueError that says what is
wrong; nothing is silently converted into NaN or cut off."""
import math
import numbers

import numpy as np

MAX_COUNT = 2 ** 63 - 1  # counts (iterations, sizes) are int64 inside NumPy, torch and JAX


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:  # an array would compare elementwise
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value


def check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be at most {MAX_COUNT} (what a 64-bit integer holds), got {value!r}")
    return int(value)


def check_learning_rate(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"learning_rate must be a finite number > 0, got {value!r}")
    return float(value)



def _is_complex(a):
    try:
        return np.iscomplexobj(a)
    except (TypeError, ValueError):
        return False  # not an array of numbers at all; as_matrix's conversion says so


def as_matrix(a, name, dtype, layout):
    """`a` as a finite 2-D array of `dtype`, or a ValueError that says what is wrong."""
    if isinstance(a, np.ma.MaskedArray):  # converting would silently use the values under the mask
        raise ValueError(f"{name} is a masked array (numpy.ma), which is not supported: pass "
                         f"{name}.filled(value), or leave out the masked examples")
    if _is_complex(a):  # casting would silently drop the imaginary part
        raise ValueError(f"{name} must hold real numbers, got complex values")
    try:
        with np.errstate(over="ignore"):  # beyond float32's range becomes inf, refused below
            arr = np.asarray(a, dtype=dtype)
    except MemoryError:
        raise
    except Exception as e:  # any conversion error: a Python int beyond float range is an OverflowError
        raise ValueError(f"{name} must be an array of numbers ({type(e).__name__}: {e})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D {layout}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values (in {dtype})")
    return arr


def check_data(X, Y, dtype):
    """X (n_x, m) and Y (n_y, m) with 0/1 labels, as `dtype` arrays."""
    X = as_matrix(X, "X", dtype, "(n_x, m): examples are columns")
    if X.shape[1] == 0:
        raise ValueError("X has no examples (m = 0)")
    if X.shape[0] == 0:
        raise ValueError("X has no features (n_x = 0)")
    if Y is None:
        return X, None
    Y = as_matrix(Y, "Y", dtype, "(n_y, m): use Y.reshape(1, -1) for one label per example")
    if Y.shape[0] == 0:
        raise ValueError("Y has no label rows (n_y = 0)")
    if Y.shape[1] != X.shape[1]:
        raise ValueError(f"X has {X.shape[1]} examples (columns) but Y has {Y.shape[1]}; "
                         "examples are columns: X is (n_x, m), Y is (n_y, m)")
    if not np.all((Y == 0) | (Y == 1)):
        raise ValueError(f"Y must hold 0/1 labels, found {np.unique(Y)[:5].tolist()}")
    return X, Y

