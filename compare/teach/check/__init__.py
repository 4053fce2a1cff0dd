"""`python -m compare check FILE_OR_DIR ...`: grade students' course-style files equation by equation.

The student's code runs in a child process (sandbox.py) that only calls their functions and sends the raw
outputs back; every reference value is computed here (grading.py, assignment.py). cli.py grades a class.
"""
from pathlib import Path

from . import assignment
from .grading import EQUATIONS, Grade, build_job, grade_records, process_failure, random_problem, reference
from .sandbox import LOAD_TIMEOUT, run_in_child, run_in_process
from .cli import format_grade, register  # noqa: F401 - the command, and the notebook's import

SIGNATURES = {"forward_propagation": ("X", "parameters"), "backward_propagation": ("parameters", "cache", "X", "Y")}
TIMEOUT = 10.0         # seconds per file: the course's functions take milliseconds
MEMORY = 2 * 2**30     # bytes of address space for the child: numpy, even torch, load within it


def grade(forward, backward, *, problems=3, seed=0, path=None):
    """Grade a course-style forward_propagation and backward_propagation already in this process (a notebook's).

    They run here, unisolated; `check_file` runs a file's functions in a child process instead.

    Args:
        forward: forward_propagation(X, parameters) -> (A2, cache with Z1, A1, Z2, A2).
        backward: backward_propagation(parameters, cache, X, Y) -> dict dW1, db1, dW2, db2.
        problems: how many random problems to try; the first that shows a mistake is reported.
        seed: seed of the random problems.
        path: the file they come from, to point at the student's line when their code raises.

    Returns:
        Grade: .ok, or .wrong (every wrong equation), .equation (the first), .problem, .hint, .where.
    """
    calls, inputs, refs = build_job(problems, seed)
    outcome = run_in_process({"forward_propagation": forward, "backward_propagation": backward}, calls, inputs, path)
    return grade_records(outcome.calls, outcome.arrays, refs, _new_grade())


def check_file(path, *, problems=3, seed=0, timeout=TIMEOUT, memory=MEMORY, load_timeout=LOAD_TIMEOUT):
    """Grade a student's file: its functions run in a child process with time and memory limits.

    Args:
        path: the student's .py file, defining at least forward_propagation and backward_propagation.
        problems, seed: the random problems, as for `grade`.
        timeout: seconds the student's functions may run, once the file is loaded; load_timeout: seconds
            loading the file (its imports) may take; memory: bytes of address space the child may use.

    Returns:
        Grade, with .functions: the verdict on each other course function the file defines.

    Raises:
        ValueError: the file cannot be loaded or lacks a function or its course signature (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    calls, inputs, refs = build_job(problems, seed)
    more, more_inputs, expected = assignment.build(seed)
    outcome = run_in_child(path, calls + more, {**inputs, **more_inputs}, timeout=timeout, memory=memory,
                           load_timeout=load_timeout)
    result = _new_grade()
    result.output = outcome.output
    if outcome.failure and outcome.running in ("start", "load"):
        raise ValueError(f"{path}: cannot be loaded: {process_failure(outcome, calls, timeout)}")
    if outcome.failure:
        text = process_failure(outcome, calls + more, timeout)
        result.fail("process", text[0].upper() + text[1:], "", reached=False)
        return result
    if outcome.load["status"] != "ok":
        raise ValueError(f"{path}: {outcome.load['message']}")
    defined = outcome.load["functions"]
    for name, params in SIGNATURES.items():
        if name not in defined:
            raise ValueError(f"{path} defines no function {name}({', '.join(params)}), the course's name "
                             f"(it defines: {', '.join(sorted(defined)) or 'no functions'})")
        if outcome.calls[f"p0.{name.split('_')[0]}"]["status"] == "signature":
            raise ValueError(f"{path}: {name}{defined[name]} cannot be called as the course calls it, "
                             f"{name}({', '.join(params)})")
    grade_records(outcome.calls, outcome.arrays, refs, result)
    result.functions = assignment.grade(outcome.calls, outcome.arrays, expected)
    return result


def _new_grade():
    return Grade(status={eq: "not checked" for eq in EQUATIONS})
