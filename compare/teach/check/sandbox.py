"""The child process of `check`: load the student's file, call its functions on the inputs the grader
sends, and send back the raw outputs as plain arrays and JSON (never pickles).

Run as a script by path (`python -I -B sandbox.py JOB STUDENT.py`: no __pycache__ beside their file), it needs only the standard library
and NumPy, so nothing of the grader is imported into the process the student's code can change. The
grader, in its own process, computes every reference value; it trusts a result only when this
process wrote its answer completely and exited with status 0.
The same functions run in-process for `grade(forward, backward)` on functions already in memory.
"""
import importlib.util
import inspect
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

LOAD_TIMEOUT = 30.0  # seconds to import the student's file and what it imports (torch: seconds when busy)
MAX_ITEMS = 32
OUTPUT_LIMIT = 256 * 2**20  # bytes: no file the child writes (its prints included) grows past this  # a dict or tuple longer than this is described, not sent


def last_line(error):
    try:
        return traceback.format_exception_only(type(error), error)[-1].strip()
    except BaseException:  # noqa: BLE001 - a student's exception whose str() raises
        return type(error).__name__


class Encoder:
    """Values as JSON descriptions; their arrays collected in `.arrays` (numeric dtypes only)."""

    def __init__(self):
        self.arrays = {}

    def store(self, array):
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.array(array, copy=True)
        return name

    def encode(self, v, depth=0):
        kind = type(v)
        try:
            if v is None:
                return {"kind": "none"}
            if isinstance(v, (bool, int, float, np.bool_, np.number)):
                return {"kind": "number", "type": kind.__name__, "array": self.store(np.asarray(v, np.float64))}
            if isinstance(v, np.ndarray):
                if v.dtype.kind not in "biuf":
                    return {"kind": "object", "type": f"array of {v.dtype}", "error": ""}
                return {"kind": "array", "type": "ndarray", "array": self.store(v)}
            if kind.__module__.startswith("torch") and hasattr(v, "requires_grad"):
                if v.requires_grad:  # np.asarray raises on it; the grader names the fix
                    return {"kind": "tensor_grad", "type": "torch.Tensor", "shape": list(v.shape)}
                return {"kind": "array", "type": "torch.Tensor", "array": self.store(v.detach().cpu().numpy())}
            if isinstance(v, dict) and depth < 2 and len(v) <= MAX_ITEMS:
                items = list(dict.items(v))
                keys = [k if isinstance(k, str) else repr(k) for k, _ in items]
                return {"kind": "dict", "type": kind.__name__, "keys": keys,
                        "items": [self.encode(x, depth + 1) for _, x in items],
                        "aliases": _aliases(keys, [x for _, x in items])}
            if isinstance(v, (tuple, list)) and depth < 2 and len(v) <= MAX_ITEMS:
                return {"kind": "tuple" if isinstance(v, tuple) else "list", "type": kind.__name__,
                        "items": [self.encode(x, depth + 1) for x in v]}
            array = np.asarray(v, dtype=np.float64)  # other array-likes: JAX arrays, np.matrix, lists of numbers
            return {"kind": "array", "type": kind.__name__, "array": self.store(array)}
        except BaseException as e:  # noqa: BLE001 - an __array__ or __getitem__ that raises is a diagnosis
            return {"kind": "object", "type": getattr(kind, "__name__", "object"), "error": last_line(e)}


def _aliases(keys, values):
    """Pairs of keys whose arrays share memory (an activation written in place into Z1)."""
    arrays = [(k, v) for k, v in zip(keys, values) if isinstance(v, np.ndarray)]
    return [[a, b] for i, (a, x) in enumerate(arrays) for b, y in arrays[i + 1:] if np.shares_memory(x, y)]


def load(path):
    """(module, record): the student's module, or None and what went wrong."""
    path = Path(path).resolve()
    sys.path.insert(0, str(path.parent))  # so that the student's own helper modules import
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    if spec is None:
        return None, {"status": "error", "message": "not a Python file"}
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: dataclasses look the module up there
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # noqa: BLE001 - a SyntaxError, an import, even exit(): it cannot load
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) else ""
        frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename).resolve() == path]
        if frames and not where:
            where = f" (line {frames[-1].lineno}: {(frames[-1].line or '').strip()})"
        return None, {"status": "error", "message": f"cannot be loaded: {last_line(e)}{where}"}
    functions = {n: str(_signature(f)) for n, f in vars(module).items()
                 if inspect.isfunction(f) and f.__module__ == module.__name__}
    return module, {"status": "ok", "functions": functions}


def _signature(f):
    try:
        return inspect.signature(f)
    except (TypeError, ValueError):
        return "(...)"


def call(namespace, spec, inputs, raw, path, encoder):
    """Run one call of the job; its record (outputs encoded) and the raw value for later calls."""
    f = namespace.get(spec["function"])
    if not callable(f):
        return {"status": "absent"}
    for args in spec["args"]:  # the course's signatures, e.g. compute_cost(A2, Y) or (A2, Y, parameters)
        try:
            inspect.signature(f).bind(*args, **spec.get("kwargs", {}))
            break
        except TypeError:
            continue
        except ValueError:
            break
    else:
        return {"status": "signature", "signature": str(_signature(f))}
    values = [_value(a, inputs, raw) for a in args]
    if any(v is _MISSING for v in values):
        return {"status": "skipped"}
    kwargs = {k: _value(a, inputs, raw) for k, a in spec.get("kwargs", {}).items()}
    before = [{k: np.array(x) for k, x in v.items() if isinstance(x, np.ndarray)} if isinstance(v, dict) else None
              for v in values]
    frames = []

    def profile(frame, event, arg):  # the function's locals as it returns: dZ2, dZ1 by the student's names
        if event == "return" and frame.f_code is f.__code__:
            frames.append(dict(frame.f_locals))
    try:
        sys.setprofile(profile if spec.get("locals") and hasattr(f, "__code__") else None)
        try:
            with np.errstate(all="ignore"):
                out = f(*values, **kwargs)
        finally:
            sys.setprofile(None)
    except BaseException as e:  # noqa: BLE001 - whatever the student's code raises, exit() included, is a diagnosis
        return _raised(e, f, path, encoder), None
    record = {"status": "ok", "value": encoder.encode(out), "changed": _changed(before, values)}
    if frames:
        record["locals"] = _arrays(frames[-1], encoder)
    if spec.get("repeat"):  # seeded: a second call gives the same values
        try:
            with np.errstate(all="ignore"):
                record["again"] = encoder.encode(f(*[_value(a, inputs, raw) for a in args], **kwargs))
        except BaseException as e:  # noqa: BLE001
            record["again"] = {"kind": "object", "type": "exception", "error": last_line(e)}
    return record, out


_MISSING = object()


def _value(spec, inputs, raw):
    """An argument: an input array (a fresh copy each call), a dict of them, a number, or a value returned before."""
    if "array" in spec:
        return np.array(inputs[spec["array"]], copy=True)
    if "dict" in spec:
        d = {k: _value(v, inputs, raw) for k, v in spec["dict"].items()}
        own = raw.get(spec.get("extra_from"))  # the keys the student's forward_propagation adds, kept
        own = own[1] if isinstance(own, tuple) and len(own) == 2 and isinstance(own[1], dict) else {}
        return {**{k: np.array(x, copy=True) if isinstance(x, np.ndarray) else x
                   for k, x in dict.items(own) if k not in d}, **d}
    if "from" in spec:
        value = raw.get(spec["from"], _MISSING)
        try:
            value = value[spec["item"]] if value is not _MISSING else value
        except BaseException:  # noqa: BLE001 - not a pair: the grader says so from the encoded value
            return _MISSING
        if isinstance(value, dict):
            value = {k: np.array(x, copy=True) if isinstance(x, np.ndarray) else x for k, x in dict.items(value)}
        return value
    return spec["value"]


def _changed(before, values):
    """Keys of dict arguments whose arrays the call changed in place."""
    changed = []
    for old, new in zip(before, values):
        if old:
            changed += [k for k, x in old.items() if not (isinstance(new.get(k), np.ndarray)
                                                          and new[k].shape == x.shape and np.array_equal(new[k], x))]
    return changed


def _arrays(local_vars, encoder):
    out = {}
    for k, v in local_vars.items():
        if isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.size <= 10**6:
            out[k] = encoder.store(v)
    return out


def _raised(e, f, path, encoder):
    record = {"status": "raised", "type": type(e).__name__, "message": last_line(e), "locals": {},
              "kinds": [c.__name__ for c in type(e).__mro__]}  # numpy's _ArrayMemoryError is a MemoryError
    if isinstance(e, KeyError) and e.args:
        record["key"] = repr(e.args[0])
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is getattr(f, "__code__", None):
            record["locals"] = _arrays(tb.tb_frame.f_locals, encoder)
        tb = tb.tb_next
    for frame in traceback.extract_tb(e.__traceback__):
        if path is not None and Path(frame.filename).resolve() == Path(path).resolve():
            record["line_number"], record["line"] = frame.lineno, (frame.line or "").strip()
            record["file"] = Path(frame.filename).name
    return record


def run_calls(namespace, calls, inputs, path=None, progress=None):
    """Every call of the job, in order: (records by call id, arrays)."""
    encoder, raw, records = Encoder(), {}, {}
    for spec in calls:
        if progress:
            progress(spec["id"])
        result = call(namespace, spec, inputs, raw, path, encoder)
        record, raw[spec["id"]] = result if isinstance(result, tuple) else (result, None)
        records[spec["id"]] = record
    return records, encoder.arrays


def main(job, student):
    job = Path(job)
    calls = json.loads((job / "calls.json").read_text())
    with np.load(job / "in.npz", allow_pickle=False) as f:
        inputs = {k: f[k] for k in f.files}
    out = job / "out"
    progress_file = open(out / "progress", "w")

    def progress(text):
        progress_file.write(text + "\n")
        progress_file.flush()
    progress("load")
    module, loaded = load(student)
    records, arrays = {}, {}
    if module is not None:
        records, arrays = run_calls(vars(module), calls, inputs, student, progress)
    progress("done")
    np.savez(out / "out.npz", **arrays)
    (out / "out.tmp").write_text(json.dumps({"complete": True, "load": loaded, "calls": records}))
    os.replace(out / "out.tmp", out / "out.json")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the student's atexit handlers are not the answer


if __name__ == "__main__":
    main(*sys.argv[1:3])


# --- the grader's side ------------------------------------------------------------------------------

class Outcome:
    """What came back from the child: `.load` and `.calls` records, or `.failure`, what ended it instead."""

    def __init__(self, load=None, calls=None, failure=None, running=None, output=""):
        self.load, self.calls, self.failure, self.running, self.output = load, calls or {}, failure, running, output


def run_in_child(path, calls, inputs, *, timeout=10.0, memory=2 * 2**30, load_timeout=LOAD_TIMEOUT):
    """Run `calls` on the student's file in a new process: time and memory limits, no stdin, a scratch folder.

    Returns:
        Outcome, with the arrays decoded into `.arrays`, its `.failure` set when the process did not answer
        completely (a timeout, an exit, a crash): only a complete answer is a result.
    """
    import signal
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="check-") as job:
        job = Path(job)
        (job / "scratch").mkdir()
        (job / "out").mkdir()
        (job / "calls.json").write_text(json.dumps(calls))
        np.savez(job / "in.npz", **inputs)
        env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}  # -I: PYTHON* variables are ignored

        def limits():
            import resource
            if memory:
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))  # a print loop cannot fill the disk
        with open(job / "stdout", "wb") as out, open(job / "stderr", "wb") as err:
            started = time.monotonic()
            child = subprocess.Popen([sys.executable, "-I", "-B", str(Path(__file__).resolve()), str(job),
                                      str(Path(path).resolve())], cwd=job / "scratch", env=env,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     preexec_fn=limits if os.name == "posix" else None, start_new_session=True)
            progress, timed_out = job / "out" / "progress", False
            try:
                # the clock for the student's functions starts once the file is loaded: its imports (torch
                # takes seconds on a busy machine) have load_timeout of their own
                deadline, loaded = started + load_timeout, False
                while child.poll() is None:
                    if not loaded and progress.exists() and progress.read_text().split()[-1:] not in ([], ["load"]):
                        deadline, loaded = time.monotonic() + timeout, True
                    if time.monotonic() > deadline:
                        timed_out = True
                        break
                    time.sleep(0.02)
            finally:
                try:
                    os.killpg(child.pid, signal.SIGKILL)  # its own children too
                except (ProcessLookupError, PermissionError):
                    pass
                status = child.wait()
        output = ((job / "stdout").read_bytes()[:4000] + (job / "stderr").read_bytes()[-4000:]).decode(errors="replace")
        steps = (job / "out" / "progress").read_text().split() if (job / "out" / "progress").exists() else []
        running = steps[-1] if steps else "start"
        answer = job / "out" / "out.json"
        if timed_out:
            return Outcome(failure=("timeout", timeout if loaded else load_timeout), running=running, output=output)
        if status != 0 or not answer.exists():
            return Outcome(failure=("exit", status), running=running, output=output)
        try:
            result = json.loads(answer.read_text())
            with np.load(job / "out" / "out.npz", allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except (ValueError, OSError) as e:
            return Outcome(failure=("garbled", str(e)), running=running, output=output)
        if result.get("complete") is not True:
            return Outcome(failure=("garbled", "incomplete"), running=running, output=output)
        outcome = Outcome(result["load"], result["calls"], output=output)
        outcome.arrays = arrays
        return outcome


def run_in_process(namespace, calls, inputs, path=None):
    """The same calls on functions already in this process (a notebook's): no isolation, same records."""
    import contextlib
    import io
    import warnings
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        records, arrays = run_calls(namespace, calls, inputs, path)
    outcome = Outcome({"status": "ok", "functions": {}}, records)
    outcome.arrays = arrays
    return outcome
