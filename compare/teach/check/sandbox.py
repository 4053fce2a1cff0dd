"""The child process of `check`: load the student's code, call its functions on the inputs the grader sends,
and send back the raw outputs as plain arrays and JSON (never pickles: compare/codec.py writes them here and
reads them on the grader's side).

Run as a script by path (`python -I -B sandbox.py JOB`: no __pycache__ beside the student's files), it
needs only the standard library and NumPy, so nothing of the grader is imported into the process the
student's code can change, and it lets the student's code import none of this project's packages. The
grader, in its own process, computes every reference value; it trusts an answer only when this process
wrote it completely, with the token it was given on its standard input, and exited with status 0.
The same calls run in-process (`run_calls`) for functions already in a notebook's memory.
"""
import importlib.machinery
import inspect
import json
import linecache
import os
import sys

import numpy as np

MAX_LOCAL = 10**6        # entries: a larger array in the student's locals is not sent back
OUTPUT_LIMIT = 256 * 2**20  # bytes: no file the child writes (its prints included) grows past this
HERE = os.path.dirname(os.path.abspath(__file__))


def _by_path(path, name):
    """A module of the project's, from its file: run by path, this script imports nothing of the project (its
    folder is not on the child's import path either: a student's module could shadow it)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __package__:  # imported in the grader's process, which grades a notebook's functions in-process (run_calls)
    from compare import codec
else:
    codec = _by_path(os.path.join(HERE, "..", "..", "codec.py"), "_check_codec")


# --- calling the student's functions -------------------------------------------------------------------

def call(namespace, spec, inputs, raw, files, encoder):
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
        return {"status": "signature", "signature": signature_text(f)}
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
    saved, replaced = _numpy_now(), []
    try:
        if "seed" in spec:
            np.random.seed(spec["seed"])
        sys.setprofile(profile if spec.get("locals") and hasattr(f, "__code__") else None)
        try:
            with np.errstate(all="ignore"):
                out = f(*values, **kwargs)
        finally:
            sys.setprofile(None)
            replaced = _put_back(saved)
    except BaseException as e:  # noqa: BLE001 - whatever the student's code raises, exit() included, is a diagnosis
        _only_the_child()
        return {**_raised(e, f, files, encoder), **({"replaced": replaced} if replaced else {})}, None
    _only_the_child()
    record = {"status": "ok", "value": encoder.encode(out), "changed": _changed(before, values)}
    if replaced:
        record["replaced"] = replaced
    if frames:
        record["locals"] = _locals(frames[-1], encoder)
    if spec.get("after"):  # what the call left in its dict arguments: an update made in place
        record["after"] = [encoder.encode(v) if isinstance(v, dict) else {"kind": "none"} for v in values]
    return record, out


def signature_text(f):
    try:
        return str(inspect.signature(f))
    except (TypeError, ValueError):
        return "(...)"


_MISSING = object()
CHILD = [None]  # the pid of the grading child: a copy that the student's code forked never answers


def _only_the_child():
    if CHILD[0] is not None and os.getpid() != CHILD[0]:
        os._exit(0)


def _value(spec, inputs, raw):
    """An argument: an input array (a fresh copy each call), a dict of them, a number, or a value returned before."""
    if "array" in spec:
        return np.array(inputs[spec["array"]], copy=True)
    if "tuple" in spec or "list" in spec:  # week 4's caches: a list of ((A_prev, W, b), Z)
        items = [_value(v, inputs, raw) for v in spec.get("tuple", spec.get("list"))]
        return tuple(items) if "tuple" in spec else items
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


def _numpy_now():
    """NumPy's public names, by identity: a call that replaces one (np.dot = ...) is named for it, and the
    original goes back before anything else runs, so that no later call, of another function, is blamed for it."""
    return [(m, dict(vars(m))) for m in (np, np.linalg, np.random)]


def _put_back(saved):
    """The names of `saved` that the call replaced or removed, each restored."""
    replaced = []
    for module, names in saved:
        now = vars(module)
        for k, v in names.items():
            if not k.startswith("__") and now.get(k, _MISSING) is not v:
                replaced.append(f"{names['__name__']}.{k}")
                setattr(module, k, v)
    return replaced


def _changed(before, values):
    """Keys of dict arguments whose arrays the call changed in place."""
    changed = []
    for old, new in zip(before, values):
        if old:
            changed += [k for k, x in old.items() if not (isinstance(new.get(k), np.ndarray)
                                                          and new[k].shape == x.shape and np.array_equal(new[k], x))]
    return changed


def _locals(variables, encoder):
    """A frame's arrays, numbers and Nones, by name (the template's `dZ1 = None` is a finding too)."""
    out = {}
    for k, v in list(variables.items()):
        if v is None or isinstance(v, (bool, int, float, complex, np.number)) or (
                isinstance(v, np.ndarray) and v.dtype.kind in codec.NUMERIC and v.size <= MAX_LOCAL):
            out[k] = encoder.encode(v)
    return out


def _raised(e, f, files, encoder):
    """The record of an exception: its last line, the student's line that raised, and the locals there."""
    record = {"status": "raised", "type": type(e).__name__, "message": codec.last_line(e), "locals": {},
              "kinds": [c.__name__ for c in type(e).__mro__]}  # numpy's _ArrayMemoryError is a MemoryError
    if isinstance(e, KeyError) and e.args:
        record["key"] = repr(e.args[0])
    if isinstance(e, NameError) and isinstance(getattr(e, "name", None), str):
        record["name"] = e.name
    tb, inner = e.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code is getattr(f, "__code__", None):
            record["locals"] = _locals(tb.tb_frame.f_locals, encoder)
        if tb.tb_frame.f_code.co_filename in files:
            inner = tb
        tb = tb.tb_next
    if inner is not None:  # the student's innermost frame: the line that raised, and what it had
        code = inner.tb_frame.f_code
        record.update(filename=code.co_filename, line_number=inner.tb_lineno, function=code.co_name,
                      line=linecache.getline(code.co_filename, inner.tb_lineno).strip())
        if code is not getattr(f, "__code__", None):
            record["inner_locals"] = _locals(inner.tb_frame.f_locals, encoder)
    return record


def run_calls(namespace, calls, inputs, files=(), progress=None):
    """Every call of the job, in order: (records by call id, arrays)."""
    encoder, raw, records = codec.Encoder(max_depth=4), {}, {}  # week 4: (AL, [((A_prev, W, b), Z), ...])
    for spec in calls:
        if progress:
            progress(spec["id"])
        result = call(namespace, spec, inputs, raw, set(files), encoder)
        record, raw[spec["id"]] = result if isinstance(result, tuple) else (result, None)
        records[spec["id"]] = record
    return records, encoder.arrays


# --- the child's main -------------------------------------------------------------------------------

def _cpu_after_load(seconds):
    """The CPU time the functions may use from now on: the load's allowance is not theirs."""
    import resource
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_CPU, (min(hard - 1, int(used + seconds) + 1), hard))


def main(job):
    CHILD[0] = os.getpid()
    loading = _by_path(os.path.join(HERE, "loading.py"), "_check_loading")
    token = sys.stdin.readline().strip()  # the grader's, before any student code can read it
    sys.stdin = open(os.devnull)  # input() is an EOFError, a diagnosis
    os.dup2(sys.stdin.fileno(), 0)
    spec = json.loads(open(os.path.join(job, "job.json")).read())
    with np.load(os.path.join(job, "in.npz"), allow_pickle=False) as f:
        inputs = {k: f[k] for k in f.files}
    out = os.path.join(job, "out")
    progress_file = open(os.path.join(out, "progress"), "w")

    def progress(text):
        progress_file.write(text + "\n")
        progress_file.flush()
    at = sys.meta_path.index(importlib.machinery.PathFinder)
    sys.meta_path[at:at] = [loading.Folder(spec["course"]), loading.Folder(spec["folder"], spec["hidden"])]
    sys.meta_path.insert(0, loading.Blocked(spec["blocked"]))
    sys.meta_path.append(loading.CourseTests(spec["course_tests"]))
    progress("load")
    namespace, loaded = loading.load(spec["units"])
    _only_the_child()
    if spec.get("cpu"):
        _cpu_after_load(spec["cpu"])
    records, arrays = run_calls(namespace, spec["calls"], inputs, [u["filename"] for u in spec["units"]], progress)
    _only_the_child()
    progress("done")
    np.savez(os.path.join(out, "out.npz"), **arrays)
    with open(os.path.join(out, "out.tmp"), "w") as f:
        f.write(json.dumps({"token": token, "complete": True, "load": loaded, "calls": records}))
    os.replace(os.path.join(out, "out.tmp"), os.path.join(out, "out.json"))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the student's atexit handlers are not the answer


if __name__ == "__main__":
    main(sys.argv[1])
