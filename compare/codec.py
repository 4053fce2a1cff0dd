"""Values sent between a process that runs code the project did not write and the process that judges it: as
JSON descriptions and arrays (numeric dtypes only), never pickles, which would run the sender's code here.

`Encoder` writes them in the child (check's sandbox, a user backend's host process); `decode` reads them back in
the grader or the comparison. Standard library and NumPy only: the children load this file by path, as they
must import nothing else of the project.
"""
import traceback

import numpy as np

MAX_ITEMS = 32      # a dict or tuple longer than this is described, not sent
MAX_DEPTH = 2       # containers within containers sent (check's week 4 asks for 4: [((A_prev, W, b), Z), ...])
NUMERIC = "biufc"   # the dtype kinds sent as arrays: bool, integers, floats, complex


def last_line(error):
    try:
        return traceback.format_exception_only(type(error), error)[-1].strip()
    except BaseException:  # noqa: BLE001 - a student's exception whose str() raises
        return type(error).__name__


class Encoder:
    """Values as JSON descriptions; their arrays collected in `.arrays` (numeric dtypes only)."""

    def __init__(self, max_depth=MAX_DEPTH):
        self.arrays, self.max_depth = {}, max_depth

    def store(self, array):
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.array(array, copy=True)
        return name

    def encode(self, v, depth=0):
        kind = type(v)
        try:
            if v is None:
                return {"kind": "none"}
            if isinstance(v, (bool, int, float, complex, np.bool_, np.number)):
                number = np.asarray(v) if not isinstance(v, int) or abs(v) < 2**63 else np.asarray(float(v))
                return {"kind": "number", "type": kind.__name__, "array": self.store(number)}
            if isinstance(v, np.ndarray):
                if v.dtype.kind not in NUMERIC:
                    return {"kind": "object", "type": f"array of {v.dtype}", "error": ""}
                return {"kind": "array", "type": "ndarray", "array": self.store(v)}
            if kind.__module__.startswith("torch") and hasattr(v, "requires_grad"):
                if v.requires_grad:  # np.asarray raises on it; the grader names the fix
                    return {"kind": "tensor_grad", "type": "torch.Tensor", "shape": list(v.shape)}
                return {"kind": "array", "type": "torch.Tensor", "array": self.store(v.detach().cpu().numpy())}
            if isinstance(v, dict) and depth < self.max_depth and len(v) <= MAX_ITEMS:
                items = list(dict.items(v))
                keys = [k if isinstance(k, str) else repr(k) for k, _ in items]
                return {"kind": "dict", "type": kind.__name__, "keys": keys,
                        "items": [self.encode(x, depth + 1) for _, x in items],
                        "aliases": _aliases(keys, [x for _, x in items])}
            if isinstance(v, (tuple, list)) and depth < self.max_depth and len(v) <= MAX_ITEMS:
                return {"kind": "tuple" if isinstance(v, tuple) else "list", "type": kind.__name__,
                        "items": [self.encode(x, depth + 1) for x in v]}
            array = np.asarray(v)  # other array-likes: JAX arrays, np.matrix, lists of numbers
            if array.dtype.kind not in NUMERIC:
                return {"kind": "object", "type": getattr(kind, "__name__", "object"), "error": ""}
            return {"kind": "array", "type": kind.__name__, "array": self.store(array)}
        except BaseException as e:  # noqa: BLE001 - an __array__ or __getitem__ that raises is a diagnosis
            return {"kind": "object", "type": getattr(kind, "__name__", "object"), "error": last_line(e)}


def _aliases(keys, values):
    """Pairs of keys whose arrays share memory (an activation written in place into Z1)."""
    arrays = [(k, v) for k, v in zip(keys, values) if isinstance(v, np.ndarray)]
    return [[a, b] for i, (a, x) in enumerate(arrays) for b, y in arrays[i + 1:] if np.shares_memory(x, y)]


class Opaque:
    """A returned object the child could not turn into numbers: a torch tensor that requires grad, or an
    object whose __array__ or __getitem__ raised."""

    def __init__(self, desc):
        self.kind, self.type, self.error = desc["kind"], desc.get("type", "object"), desc.get("error", "")


class Returned(dict):
    """A dict the student returned, with `.aliases`: pairs of keys whose arrays are the same memory."""

    aliases = ()


def decode(desc, arrays):
    """The Python value an encoded description stands for (see Encoder)."""
    kind = desc["kind"]
    if kind == "none":
        return None
    if kind == "number":
        value = arrays[desc["array"]][()]
        if np.iscomplexobj(value):
            return complex(value)
        if "bool" in desc["type"]:
            return bool(value)
        return int(value) if "int" in desc["type"] and np.isfinite(value) else float(value)
    if kind == "array":
        return arrays[desc["array"]]
    if kind == "dict":
        d = Returned(zip(desc["keys"], (decode(v, arrays) for v in desc["items"])))
        d.aliases = [tuple(a) for a in desc["aliases"]]
        return d
    if kind in ("tuple", "list"):
        items = [decode(v, arrays) for v in desc["items"]]
        return tuple(items) if kind == "tuple" else items
    return Opaque(desc)
