"""One submission graded: `check_file` runs a file's or a notebook's functions in a child process; `grade`
grades functions already in this process, a notebook's, where a student works."""
import contextlib
import inspect
import io
import warnings
from pathlib import Path

from . import assignment, week4, week4_grading
from .files import not_gradable
from .grading import SIGNATURES, grade_records
from .notebook import read
from .problems import build_job
from .result import Grade
from .runner import LOAD_CPU, Outcome, describe, run_in_child
from .sandbox import run_calls, signature_text

TIMEOUT = 10.0         # CPU seconds for a file's functions: the course's take milliseconds
MEMORY = 2 * 2**30     # bytes of address space for the child: numpy, even torch, load within it


def check_file(path, *, problems=3, seed=0, timeout=TIMEOUT, memory=MEMORY, load_timeout=LOAD_CPU, hidden=()):
    """Grade a student's .py file or .ipynb notebook: its functions run in a child process with limits.

    Args:
        path: the file; it defines at least forward_propagation and backward_propagation.
        problems, seed: the random problems, as for `grade`.
        timeout: CPU seconds the student's functions may use once the file is loaded.
        memory: bytes of address space the child may use.
        load_timeout: CPU seconds loading the file (its imports) may take.
        hidden: module names the file may not import (the other submissions of a class in its folder).

    Returns:
        Grade, with .functions: the verdict on each other course function the file defines.

    Raises:
        ValueError: the file cannot be read or loaded, or lacks a function or its course signature (one line).
    """
    path = Path(path)
    problem = not_gradable(path)
    if problem:
        raise ValueError(f"{path}: {problem}")
    try:
        program = read(path)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    names = week4.defined_functions(program)
    if week4.is_week4(names):
        return _check_week4(path, program, names, seed=seed, hidden=hidden, cpu=timeout, memory=memory,
                            load_cpu=load_timeout)
    calls, inputs, refs = build_job(problems, seed)
    more, more_inputs, expected = assignment.build(seed)
    outcome = run_in_child(program, calls + more, {**inputs, **more_inputs}, hidden=hidden, cpu=timeout,
                           memory=memory, load_cpu=load_timeout)
    result = Grade(name=path.name, output=outcome.output)
    if outcome.failure and outcome.running in ("start", "load"):
        raise ValueError(f"{path}: cannot be loaded: {describe(outcome, calls)}")
    if outcome.failure:
        text = describe(outcome, calls + more)
        result.fail("process", text[0].upper() + text[1:], "", reached=False)
        return result
    program.ran(outcome.load.get("failed", []))
    defined = outcome.load["functions"]
    for name, params in SIGNATURES.items():
        if name not in defined:
            why = program.failed.get(name)
            lacks = f"the definition of {name} ({why[0]}) fails here: {why[2]}" if why else \
                f"defines no function {name}({', '.join(params)}), the course's name (it defines: " \
                f"{', '.join(sorted(defined)) or 'no functions'}), nor a week-4 one such as L_model_forward"
            raise ValueError(f"{path}: {lacks}" + "".join(f"; {n}" for n in program.notes))
        if outcome.calls[f"p0.{name.split('_')[0]}"]["status"] == "signature":
            raise ValueError(f"{path}: {name}{defined[name]} cannot be called as the course calls it, "
                             f"{name}({', '.join(params)})")
    grade_records(outcome.calls, outcome.arrays, refs, result, program)
    assignment.grade(outcome.calls, outcome.arrays, expected, result, defined, program)
    result.notes[:0] = [f"not run here: {line}" for line in program.failed_imports()] + program.notes
    return result


def _check_week4(path, program, names, *, seed, **limits):
    """A week-4 file (W4A1's ten functions, W4A2's models): each function graded on its own at L = 1 … 4. A
    function that ends the child without an answer (a hang, an exit, a kill) fails, named; the others are graded
    in a fresh child with the same limits."""
    calls, inputs, problems = week4.build(seed, names)
    failed, outcome = {}, None
    while calls:
        outcome = run_in_child(program, calls, inputs, **limits)
        if outcome.failure and outcome.running in ("start", "load"):
            raise ValueError(f"{path}: cannot be loaded: {describe(outcome, calls)}")
        if not outcome.failure:
            break
        culprit, text = _culprit(program, calls, inputs, outcome, limits)
        if culprit is None:
            return _no_answer(path, outcome, names, text[0].upper() + text[1:])
        failed[culprit] = text[0].upper() + text[1:]
        calls = [c for c in calls if c["function"] != culprit]
    result = Grade(name=path.name, output=outcome.output if outcome else "", status={}, assignment="week 4")
    if outcome is None or outcome.failure:  # every defined function failed: none answered
        outcome = Outcome(load={"functions": {}, "failed": []})
    program.ran(outcome.load.get("failed", []))
    week4_grading.grade(outcome.calls, outcome.arrays, problems, result, set(outcome.load["functions"]) | set(failed),
                        program, failed)
    result.version = week4_grading.week4_version(program) or result.version
    result.notes[:0] = [f"not run here: {line}" for line in program.failed_imports()] + program.notes
    return result


def _culprit(program, calls, inputs, outcome, limits):
    """(function, what happened) for a child that ended without an answer. The call it was in is the culprit,
    except when a signal came from outside (the code signalled its supervisor): it lands a moment later, so the
    functions called so far are run again one by one, each alone, until one of them ends its child too."""
    ids = [c["id"] for c in calls]
    running = calls[ids.index(outcome.running)]["function"] if outcome.running in ids else None
    if not outcome.stopped:
        return running, describe(outcome, calls)
    for name in dict.fromkeys(c["function"] for c in calls[:ids.index(outcome.running) + 1 if running else None]):
        own = [c for c in calls if c["function"] == name]
        alone = run_in_child(program, own, inputs, **limits)
        if alone.failure and alone.running not in ("start", "load"):
            alone.running = own[0]["id"]  # alone in its child, this function sent it (its last call or one before)
            return name, describe(alone, own).replace("in or just after", "in", 1)
    return running, describe(outcome, calls)


def _no_answer(path, outcome, names, text):
    """A child that ended without an answer after its last call (an answer file of its own, one cut short):
    no function can be named, and none is graded."""
    result = Grade(name=path.name, output=outcome.output, status={}, assignment="week 4")
    result.fail("process", text, "", reached=False)
    for name in week4.FUNCTIONS + week4.MODELS:  # each counts in the points, none earns one
        result.functions[name] = "no answer (below)" if name in names else \
            "not graded (not defined)"
    return result


def grade(forward=None, backward=None, *, problems=3, seed=0, namespace=None):
    """Grade a course-style forward_propagation and backward_propagation already in this process (a notebook's):
    `grade(forward_propagation, backward_propagation)`, or `grade(globals())` for every course function the
    notebook defines (in a week-4 notebook, its L-layer functions, graded as check_file grades them). They run
    here, unisolated; `check_file` runs a file's functions in a child process.

    Args:
        forward: forward_propagation(X, parameters) -> (A2, cache with Z1, A1, Z2, A2), or a namespace dict.
        backward: backward_propagation(parameters, cache, X, Y) -> dict dW1, db1, dW2, db2.
        problems: how many random problems to try; the first that shows a mistake is reported.
        seed: seed of the random problems.
        namespace: a dict of the notebook's names (globals()): its other course functions are graded too.

    Returns:
        Grade: .ok, or .wrong (every wrong equation), .equation (the first), .problem, .hint, .where;
            displayed in a notebook as the report `check` prints.

    Raises:
        ValueError: forward_propagation or backward_propagation is missing.
    """
    if isinstance(forward, dict):
        namespace, forward = forward, None
    names = {n for n, f in (namespace or {}).items() if inspect.isfunction(f)}
    if forward is None and backward is None and week4.is_week4(names):
        return _grade_week4(namespace, names, seed)
    functions = dict(namespace or {})
    functions.update({k: f for k, f in (("forward_propagation", forward), ("backward_propagation", backward)) if f})
    missing = [name for name in SIGNATURES if not callable(functions.get(name))]
    if missing:
        raise ValueError(f"grade needs {' and '.join(missing)}: grade(forward_propagation, backward_propagation) "
                         "or grade(globals())")
    calls, inputs, refs = build_job(problems, seed)
    more, more_inputs, expected = assignment.build(seed) if namespace else ([], {}, None)
    files = {f.__code__.co_filename for f in functions.values() if inspect.isfunction(f)}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(out):
        warnings.simplefilter("ignore")
        records, arrays = run_calls(functions, calls + more, {**inputs, **more_inputs}, files)
    result = Grade(name="your functions", output=out.getvalue())
    grade_records(records, arrays, refs, result)
    if namespace:
        signatures = {n: signature_text(functions[n]) for n in assignment.FUNCTIONS if callable(functions.get(n))}
        assignment.grade(records, arrays, expected, result, signatures)
    return result


def _grade_week4(namespace, names, seed):
    """grade(globals()) in a week-4 notebook: its functions graded here, unisolated, as check_file grades a file."""
    calls, inputs, problems = week4.build(seed, names)
    files = {f.__code__.co_filename for n, f in namespace.items() if n in names}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(out):
        warnings.simplefilter("ignore")
        records, arrays = run_calls(namespace, calls, inputs, files)
    result = Grade(name="your functions", output=out.getvalue(), status={}, assignment="week 4")
    week4_grading.grade(records, arrays, problems, result, names)
    return result
