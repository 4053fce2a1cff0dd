"""The grader's side of the child process: a job folder with the student's code and the inputs, the child
run under its supervisor (impls/processes.py) with its limits, and what came back, trusted only when complete.

Limits: `cpu` seconds of CPU time for the student's functions and `load_cpu` for loading the file (its
imports: torch takes seconds), measured by the kernel (RLIMIT_CPU), so that a busy machine never turns a
right answer into an error; a wall clock of WALL_FACTOR times each catches code that waits instead of
computing (a sleep, a lock). `memory` bytes of address space (RLIMIT_AS); no standard input; a scratch
working folder, deleted with everything in it once every process of the child is gone.
"""
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from impls import processes

from . import sandbox
from .course import FOLDER as COURSE, TEST_MODULES

LOAD_CPU = 20.0          # CPU seconds to load a file and its imports (torch: about 1.5)
WALL_FACTOR = 5          # wall-clock seconds allowed per CPU second: a machine five times oversubscribed still passes
BLOCKED = ("impls", "compare")  # this project's packages: a graded file may not use them
ANSWERS = {"ok", "raised", "absent", "signature", "skipped"}


class Outcome:
    """What came back from the child: `.load` and `.calls` records with `.arrays`, or `.failure`, what ended
    it instead (kind, value), `.running`: the call it was in; `.output`: what it printed; `.stopped`: the signal
    that stopped its supervisor when check did not send it (the student's code can signal its parent)."""

    def __init__(self, load=None, calls=None, arrays=None, failure=None, running=None, output="", cpu=None,
                 stopped=None):
        self.load, self.calls, self.arrays = load, calls or {}, arrays or {}
        self.failure, self.running, self.output, self.cpu = failure, running, output, cpu
        self.stopped = stopped


def run_in_child(program, calls, inputs, *, hidden=(), cpu=10.0, memory=2 * 2**30, load_cpu=LOAD_CPU):
    """Run `calls` on a student's Program (notebook.read) in a child process; see the module's docstring.

    Args:
        hidden: module names of the other submissions in the student's folder, which it may not import.

    Returns:
        Outcome; its `.failure` is set when the child did not answer completely (a limit, an exit, a crash,
        an answer it did not write itself): only a complete answer is a result.
    """
    job = Path(tempfile.mkdtemp(prefix="check-"))
    try:
        return _run(job, program, calls, inputs, hidden, cpu, memory, load_cpu)
    finally:
        remove(job)


def _run(job, program, calls, inputs, hidden, cpu, memory, load_cpu):
    for folder in ("scratch", "out"):
        (job / folder).mkdir()
    units = [{"filename": u.filename, "source": "" if u.error else u.source,
              "keep": [] if u.error else [s.index for s in u.statements]} for u in program.units]
    spec = {"units": units, "calls": calls, "folder": str(program.path.resolve().parent), "hidden": sorted(hidden),
            "course": str(COURSE), "course_tests": list(TEST_MODULES), "blocked": list(BLOCKED), "cpu": cpu}
    (job / "job.json").write_text(json.dumps(spec))
    np.savez(job / "in.npz", **inputs)
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}  # -I: PYTHON* variables are ignored
    token = secrets.token_hex(16)
    started, progress, state = time.monotonic(), job / "out" / "progress", {"loaded": False, "late": False}
    deadline = [started + WALL_FACTOR * load_cpu]

    def overdue():  # the wall clock: the functions' own once the file has loaded
        if not state["loaded"] and _steps(progress)[-1:] not in ([], ["load"]):
            state["loaded"], deadline[0] = True, time.monotonic() + WALL_FACTOR * cpu
        state["late"] = state["late"] or time.monotonic() > deadline[0]
        return state["late"]
    with open(job / "stdout", "wb") as stdout, open(job / "stderr", "wb") as stderr:
        child = processes.start([sys.executable, "-I", "-B", str(Path(sandbox.__file__).resolve()), str(job)],
                                cwd=job / "scratch", env=env, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr,
                                cpu=load_cpu, cpu_most=load_cpu + cpu, memory=memory, file_size=sandbox.OUTPUT_LIMIT)
    _wait(child, (token + "\n").encode(), overdue)
    if processes.stopping():
        raise KeyboardInterrupt
    output = (_read(job / "stdout")[:4000] + _read(job / "stderr")[-4000:]).decode(errors="replace")
    steps = _steps(progress)
    running = steps[-1] if steps else "start"
    limit = cpu if state["loaded"] else load_cpu
    end = {"output": output, "running": running, "cpu": child.cpu}
    if state["late"]:
        return Outcome(failure=("wall", WALL_FACTOR * limit), **end)
    status = child.returncode
    if status == -signal.SIGXCPU or (status == -signal.SIGKILL and (child.cpu or 0) >= (load_cpu + cpu if state[
            "loaded"] else load_cpu)):
        return Outcome(failure=("cpu", limit), **end)
    if child.stopped:  # check stops a child only when it is late (above): this signal came from elsewhere
        return Outcome(failure=("exit", status), stopped=child.stopped, **end)
    if status != 0:
        return Outcome(failure=("exit", status), **end)
    return _answer(job / "out", token, calls, end)


def _wait(child, data, overdue, step=0.02):
    """Send `data` (a few bytes: the pipe takes them at once) to the child's standard input, then wait for it,
    asking `overdue()` every `step` seconds: when it says True, the child's tree is killed (a wall-clock limit).
    Not communicate(input, timeout): under load it can time out before writing, and a retry never writes."""
    try:
        try:
            child.stdin.write(data)
            child.stdin.close()
        except OSError:  # the child ended already: its status says how
            pass
        while True:
            try:
                return child.wait(step)
            except subprocess.TimeoutExpired:
                if overdue():
                    child.stop()
    finally:
        child.kill()  # at once if it has ended; else (an exception here, Ctrl-C) now


def _answer(out, token, calls, end):
    """The child's answer, if it is whole and its own; else the failure that says why not."""
    if not (out / "out.json").exists():
        return Outcome(failure=("exit", 0), **end)
    try:
        result = json.loads((out / "out.json").read_text())
    except (ValueError, OSError, UnicodeDecodeError) as e:
        return Outcome(failure=("garbled", str(e)), **end)
    if not isinstance(result, dict) or result.get("token") != token:
        return Outcome(failure=("forged", ""), **end)
    try:
        with np.load(out / "out.npz", allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as e:  # noqa: BLE001 - whatever np.load raises on a file that is not whole
        return Outcome(failure=("garbled", f"{type(e).__name__}: {e}"), **end)
    records = result.get("calls")
    if result.get("complete") is not True or not isinstance(records, dict) or any(
            not isinstance(records.get(c["id"]), dict) or records[c["id"]].get("status") not in ANSWERS for c in calls):
        return Outcome(failure=("garbled", "incomplete"), **end)
    return Outcome(result["load"], records, arrays, **end)


def _steps(progress):
    try:
        return progress.read_text().split()
    except OSError:
        return []


def _read(path):
    try:
        return path.read_bytes()
    except OSError:
        return b""


def remove(folder):
    """Delete a job folder whatever the student's code did to it (read-only folders included)."""
    def writable(function, path, error):
        try:
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            function(path)
        except OSError:
            pass
    handler = {"onexc": lambda f, p, e: writable(f, p, None)} if sys.version_info >= (3, 12) else {"onerror": writable}
    for _ in range(3):
        shutil.rmtree(folder, **handler)
        if not os.path.lexists(folder):
            return
        time.sleep(0.05)


def describe(outcome, calls):
    """What ended the child instead of an answer, in words (starting lower case)."""
    kind, value = outcome.failure
    running = outcome.running
    doing = "while loading the file" if running in ("start", "load") else \
        f"in {next(c['function'] for c in calls if c['id'] == running)}" if any(
            c["id"] == running for c in calls) else "before answering"
    if kind == "cpu":
        return f"used its {value:g} s of CPU time {doing} without finishing (an endless loop such as while True?); " \
               "stopped"
    if kind == "wall":
        cpu = outcome.cpu or 0.0
        why = "waiting for something: a sleep, input, a lock?" if cpu < 0.1 * value else \
            "computing on a machine too busy to give it the CPU time: an endless loop?"
        return f"did not finish within {value:g} s {doing}, using {cpu:.1f} s of CPU time ({why}); stopped"
    if kind == "forged":
        return "wrote an answer file of its own into check's working folder, which check does not read: a " \
               "function gives its result with return"
    if kind == "exit" and outcome.stopped:  # the signal ends the process a moment later: a later call may be running
        return f"the process was stopped {doing.replace('in ', 'in or just after ', 1)}: the process that " \
               f"supervises it was sent {outcome.stopped}, not by check but by your code (os.kill of its parent?) " \
               "or by another program"
    if kind == "exit" and value == 0:
        return f"ended the grading process {doing} with exit status 0 and no answer (os._exit() or similar): " \
               "a function gives its result with return"
    if kind == "exit" and value < 0:
        name = signal.Signals(-value).name if -value in signal.Signals._value2member_map_ else str(-value)
        extra = " (out of memory, or another program?)" if name == "SIGKILL" else \
            " (a crash in compiled code)" if name == "SIGSEGV" else ""
        return f"the process was killed by {name} {doing}{extra}"
    if kind == "exit":
        return f"the process exited with status {value} {doing}, without an answer"
    return f"the process's answer could not be read ({value})"
