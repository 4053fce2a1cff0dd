"""The process a user's backend runs in. compare/isolated/proxy.py starts it as `python host.py FD_IN FD_OUT`,
under a supervisor (impls/processes.py), sends what to construct, then one call at a time; each answer is the
method's raw result as JSON descriptions and arrays (compare/codec.py), never pickles.

Run by path, it imports only the standard library, NumPy, impls and the user's code: nothing the user's code
does here (patch NumPy, change JAX's settings, change the arrays it is given, exit) reaches the comparison.
The framing of the messages, used by both sides, is here too.
"""
import importlib
import importlib.metadata
import importlib.util
import json
import os
import struct
import sys
from pathlib import Path

MAGIC = b"BPC1"
HEADER = struct.Struct("<4sQQ")  # magic, JSON bytes, NPZ bytes
MAX_MESSAGE = 2**31  # bytes: an answer announcing more is malformed
METHODS = ("cost", "gradients", "intermediates", "forward", "train", "predict")
PARAM_NAMES = ("W1", "b1", "W2", "b2")
ENTRY_POINT_GROUP = "backprop_compare.backends"


def pack(header, arrays):
    """One message: the header as JSON, the arrays as an .npz."""
    import io

    import numpy as np
    text = json.dumps(header, allow_nan=True).encode()
    blob = b""
    if arrays:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        blob = buffer.getvalue()
    return HEADER.pack(MAGIC, len(text), len(blob)) + text + blob


def unpack(data):
    """(header, arrays) from a whole message; ValueError if it is not one."""
    import io

    import numpy as np
    magic, n_text, n_blob = HEADER.unpack_from(data)
    if magic != MAGIC or len(data) != HEADER.size + n_text + n_blob:
        raise ValueError("not a message of this protocol")
    header = json.loads(data[HEADER.size:HEADER.size + n_text])
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    arrays = {}
    if n_blob:
        with np.load(io.BytesIO(data[HEADER.size + n_text:]), allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    return header, arrays


def message_size(prefix):
    """The whole message's length from its first HEADER.size bytes; ValueError if they are not a header."""
    magic, n_text, n_blob = HEADER.unpack_from(prefix)
    if magic != MAGIC or n_text + n_blob > MAX_MESSAGE:
        raise ValueError("not a message of this protocol")
    return HEADER.size + n_text + n_blob


def _read_exactly(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(fd):
    """The next message on a blocking descriptor (the child's side)."""
    prefix = _read_exactly(fd, HEADER.size)
    return unpack(prefix + _read_exactly(fd, message_size(prefix) - HEADER.size))


def send(fd, header, arrays=None):
    data = memoryview(pack(header, arrays or {}))
    while data:
        data = data[os.write(fd, data):]


# --- the child's side ----------------------------------------------------------------------------------

def _text(e):
    try:
        return f"{type(e).__name__}: {e}"
    except BaseException:  # noqa: BLE001 - an exception whose str() raises
        return type(e).__name__


def _failure(e, what):
    if isinstance(e, SystemExit):
        return f"{what} called sys.exit({e.code!r}): a backend's method must return its answer, not end the process"
    return f"{what} raised {_text(e)}"


def load_class(spec):
    """The class a spec names (kind, target, cls as compare/specs.py parses them), or a ValueError's text."""
    text = spec["text"]
    try:
        if spec["kind"] == "entry point":
            points = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
            cls = points[spec["target"]].load()
            if not callable(cls):
                raise ValueError(f"backend {text!r}: its entry point names no class")
            return cls
        if spec["kind"] == "module":
            module = importlib.import_module(spec["target"])
        else:
            path = Path(spec["target"]).resolve()
            sys.path.insert(0, str(path.parent))  # so that the user's own helper modules import
            name = f"backprop_compare_user_{path.stem}"
            loader = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module  # dataclasses and pickling look the module up by name
            loader.loader.exec_module(module)
    except ValueError:
        raise
    except ModuleNotFoundError as e:
        raise ValueError(f"backend {text!r}: no module named {e.name!r}") from None
    except BaseException as e:  # noqa: BLE001 - the user's module may raise anything on import, exit() included
        raise ValueError(f"backend {text!r}: importing it raised {_text(e)}") from None
    cls = getattr(module, spec["cls"], None)
    if cls is None:
        raise ValueError(f"backend {text!r}: {spec['target']} has no {spec['cls']}")
    return cls


def describe(backend):
    """What the parent needs to stand in for the object: its attributes, methods, module and version, and the
    process-wide settings of the frameworks it imported."""
    from impls.base import dtype_name
    module = type(backend).__module__
    top = sys.modules.get(module.partition(".")[0])
    version = getattr(sys.modules.get(module), "__version__", None) or getattr(top, "__version__", None)
    declared = getattr(backend, "dtype", None)
    try:
        dtype = None if declared is None else dtype_name(declared)
    except ValueError:
        dtype = None
    name = getattr(backend, "name", None)
    workers = getattr(backend, "workers", None)
    switches = {}
    if "torch" in sys.modules and hasattr(sys.modules["torch"], "__version__"):
        switches["torch"] = str(sys.modules["torch"].__version__)
    if "jax" in sys.modules and hasattr(sys.modules["jax"], "config"):
        jax = sys.modules["jax"]
        switches |= {"jax": str(jax.__version__), "jax_enable_x64": bool(jax.config.jax_enable_x64)}
    return {"name": name if isinstance(name, str) and name else type(backend).__name__,
            "activation": getattr(backend, "activation", None) if isinstance(getattr(backend, "activation", None),
                                                                                str) else None,
            "dtype": dtype, "declared_dtype": None if declared is None else repr(declared),
            "device": None if getattr(backend, "device", None) is None else str(backend.device),
            "workers": workers if isinstance(workers, int) and not isinstance(workers, bool) else None,
            "methods": [m for m in METHODS if callable(getattr(backend, m, None))  # not nn.Module's train(mode)
                        and not str(getattr(getattr(backend, m), "__module__", "")).startswith("torch.nn.modules")],
            "module": module, "version": None if version is None else str(version), "switches": switches}


def _detach(value, path, found, depth=0):
    """`value` with every torch tensor that requires grad detached; their paths in `found`."""
    if type(value).__module__.startswith("torch") and getattr(value, "requires_grad", False):
        found.append(path)
        return value.detach()
    if isinstance(value, dict) and depth < 3:
        return {k: _detach(v, f"{path}.{k}" if path else str(k), found, depth + 1) for k, v in dict.items(value)}
    if isinstance(value, (list, tuple)) and depth < 3:
        return type(value)(_detach(v, f"{path}[{i}]", found, depth + 1) for i, v in enumerate(value))
    return value


def _as_result(value):
    """train's result as a dict of its fields, if it has any of them as attributes (a TrainResult, a namespace)."""
    fields = ("params", "costs", "final_cost")
    if isinstance(value, dict) or not any(hasattr(value, f) for f in fields):
        return None
    return {f: getattr(value, f) for f in fields if hasattr(value, f)}


def _inputs(header, arrays, data):
    """The call's arguments, each a fresh array of its own, and the originals to tell a change by."""
    import numpy as np
    for key in header.get("data", {}).values():
        if f"data_{key}" in arrays:
            data[key] = arrays[f"data_{key}"]
    args, originals = [], {}
    for a in header["args"]:
        if a["kind"] == "params":
            value = {k: np.array(arrays[f"{a['name']}_{k}"]) for k in PARAM_NAMES}
            originals |= {k: (value, k, np.array(v)) for k, v in value.items()}
        elif a["kind"] == "data":
            value = np.array(data[header["data"][a["name"]]])
            originals[a["name"]] = (None, value, np.array(value))
        else:
            value = a["value"]
        args.append(value)
    return args, originals


def _changed(originals):
    import numpy as np
    changed = []
    for name, (holder, key_or_array, before) in originals.items():
        now = holder.get(key_or_array) if holder is not None else key_or_array
        if not (isinstance(now, np.ndarray) and now.shape == before.shape
                and np.array_equal(now, before, equal_nan=before.dtype.kind in "fc")):
            changed.append(name)
    return changed


def serve(fd_in, fd_out, codec):
    backend, data = None, {}
    while True:
        try:
            header, arrays = receive(fd_in)
        except EOFError:
            return
        if header["op"] == "construct":
            try:
                cls = load_class(header["spec"])
            except ValueError as e:
                send(fd_out, {"ok": False, "error": str(e)})
                continue
            try:
                backend = cls(**header["kwargs"])
            except BaseException as e:  # noqa: BLE001 - a user's constructor may raise anything, exit() included
                send(fd_out, {"ok": False, "error": _failure(e, "its constructor")})
                continue
            send(fd_out, {"ok": True, "describe": describe(backend)})
            continue
        method = header["method"]
        args, originals = _inputs(header, arrays, data)
        try:
            value = getattr(backend, method)(*args, **header.get("kwargs", {}))
        except BaseException as e:  # noqa: BLE001 - a user's method may raise anything, exit() included
            send(fd_out, {"ok": False, "error": _failure(e, method), "changed": _changed(originals),
                          "diverged": type(e).__name__ == "TrainingDiverged"})
            continue
        detached = []
        result = _as_result(value) if method == "train" else None
        value = _detach(result if result is not None else value, "", detached)
        encoder = codec.Encoder()
        described = encoder.encode(value)
        send(fd_out, {"ok": True, "value": described, "result": result is not None, "detached": detached,
                      "changed": _changed(originals)}, encoder.arrays)


def main(fd_in, fd_out):
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if p != str(here)]  # a user's module named like ours must still import
    # by path: importing the package `compare` would bring the comparison itself into the user's process
    loader = importlib.util.spec_from_file_location("backprop_compare_codec", here.parent / "codec.py")
    codec = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(codec)
    serve(fd_in, fd_out, codec)
    os._exit(0)  # the user's atexit handlers and threads are not waited for


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
