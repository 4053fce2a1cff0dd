"""What a backend's method returned, read as the contract says (a float; a dict of arrays; a result with
.params and .final_cost; 0/1 labels), or one sentence naming the method and what it returned instead."""
import numbers
from types import SimpleNamespace

import numpy as np

from compare.codec import Opaque
from impls.base import PARAM_NAMES


class Arrays(dict):
    """The arrays of an answer that could be read, as float64; `.problems` says what is wrong with the others."""

    problems = {}


def plain(text, limit=300):
    """`text` as one printable line of at most `limit` characters: what a user's code says may hold newlines
    and escape codes that would forge lines of the report."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def describe(value):
    """A few words for a value that is not what was expected: "None", "'abc' (a str)", "an array of shape (3,)"."""
    if value is None:
        return "None"
    if isinstance(value, Opaque):  # what the isolated process could not send as numbers
        return f"a {plain(value.type, 60)}" + (f" ({plain(value.error, 80)})" if value.error else "")
    if isinstance(value, str):
        return f"{plain(repr(value), 60)} (a str)"
    if isinstance(value, dict):
        keys = ", ".join(plain(repr(k), 20) for k in list(value)[:6])
        return f"a {type(value).__name__} with keys [{keys}{', …' if len(value) > 6 else ''}]"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} item{'s' * (len(value) != 1)}"
    return f"{plain(repr(value), 60)} (a {type(value).__name__})"


def _is_tensor(value):
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def detach(value, path="", found=None, depth=0):
    """`value` with every torch tensor turned into a NumPy array; the paths of those that required grad in
    `found` (they are detached, with a note, not refused)."""
    found = [] if found is None else found
    if _is_tensor(value):
        if getattr(value, "requires_grad", False):
            found.append(path)
        try:
            return value.detach().cpu().numpy()
        except Exception:  # noqa: BLE001 - bfloat16 and the like: left for the reader to name
            return value
    if isinstance(value, dict) and depth < 3:
        return {k: detach(v, f"{path}.{k}" if path else str(k), found, depth + 1) for k, v in dict.items(value)}
    if isinstance(value, (list, tuple)) and depth < 3:
        return type(value)(detach(v, f"{path}[{i}]", found, depth + 1) for i, v in enumerate(value))
    if hasattr(value, "params") and hasattr(value, "final_cost") and depth < 3:  # a TrainResult or the like
        fields = {f: detach(getattr(value, f), f, found, depth + 1) for f in ("params", "costs", "final_cost")
                  if hasattr(value, f)}
        return SimpleNamespace(**fields)
    return value


def _numbers(value):
    """`value` as a float64 array, or None when it is not an array of real numbers."""
    if value is None or isinstance(value, (str, bytes, dict, Opaque)):
        return None
    try:
        if np.iscomplexobj(value):
            return None
        with np.errstate(all="ignore"):
            array = np.asarray(value, dtype=np.float64)
    except Exception:  # noqa: BLE001 - an __array__ that raises is an answer that cannot be read
        return None
    return array


def read_cost(value, what="cost"):
    """(J as a float, None), or (None, what is wrong): a number, or an array holding one number."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return None, f"{what} returned {describe(value)}, not a number"
    if isinstance(value, numbers.Real):
        return float(value), None
    array = _numbers(value)
    if array is None or array.size != 1:
        return None, f"{what} returned {describe(value)}, not a number"
    return float(array.reshape(())), None


def read_arrays(value, names, what):
    """(Arrays of the `names` it has, None), or (None, what is wrong) when it is not a dict at all."""
    if not hasattr(value, "keys") or not hasattr(value, "__getitem__"):
        return None, f"{what} returned {describe(value)}, not a dict of the arrays {', '.join(names)}"
    out, problems = Arrays(), {}
    try:
        keys = set(value.keys())
    except Exception as e:  # noqa: BLE001 - a user's mapping whose keys() raises
        return None, f"{what} returned {describe(value)} whose keys cannot be read ({type(e).__name__})"
    for k in names:
        if k not in keys:
            continue
        array = _numbers(value[k])
        if array is None:
            problems[k] = f"{what}'s {k} is {describe(value[k])}, not an array of numbers"
        else:
            out[k] = array
    out.problems = problems
    return out, None


def read_result(value, what="train"):
    """(a namespace with .params as Arrays and .final_cost as a float, None), or (None, what is wrong)."""
    if isinstance(value, dict) or not (hasattr(value, "params") and hasattr(value, "final_cost")):
        return None, (f"{what} returned {describe(value)}, not a result with .params and .final_cost "
                      "(impls.TrainResult)")
    params, problem = read_arrays(value.params, PARAM_NAMES, f"{what}'s result: params")
    if problem is None and (params.problems or len(params) < len(PARAM_NAMES)):
        missing = [k for k in PARAM_NAMES if k not in params and k not in params.problems]
        problem = next(iter(params.problems.values()), None) or f"{what}'s result has no params {missing}"
    if problem is not None:
        return None, problem
    final_cost, problem = read_cost(value.final_cost, f"{what}'s result: final_cost")
    if problem is not None:
        return None, problem.replace("final_cost returned", "final_cost is")
    return SimpleNamespace(params=params, final_cost=final_cost, costs=getattr(value, "costs", None)), None


def read_labels(value, shape, what="predict"):
    """(labels as a float64 array of `shape`, None), or (None, what is wrong)."""
    array = _numbers(value)
    if array is None:
        return None, f"{what} returned {describe(value)}, not an array of 0/1 labels"
    if array.shape != tuple(shape):
        return None, f"{what} returned shape {array.shape}, expected {tuple(shape)}"
    return array, None
