"""The `check` command: one file in full, or a class one line each, with a summary, a JSON gradebook and a CSV."""
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from impls import processes

from .checking import MEMORY, TIMEOUT, check_file
from .files import collect, hidden_modules
from .notebook import SUFFIXES
from .report import format_grade, gradebook_csv, summary, table_line
from .result import Grade

GiB = 2**30
MAX_PROBLEMS = 100              # 3 already show every mistake the grader knows; more only take longer
MEMORY_GB = (0.5, 2.0**17)      # Python with NumPy needs ~0.4 GB of address space; 128 TiB is all a process has


def register(subparsers):
    from compare.cli import positive_float, positive_int, seed

    p = subparsers.add_parser("check", help="grade course notebooks or files, one file or a class: week 3's "
                              "(forward_propagation, backward_propagation and the assignment's other functions) "
                              "equation by equation, week 4's (L_model_forward, L_model_backward, ...) function by "
                              "function at depth L = 1 to 4")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE_OR_DIR",
                   help="the course's notebook (.ipynb) or .py files: week 3's, defining forward_propagation(X, "
                        "parameters) and backward_propagation(parameters, cache, X, Y), or week 4's (W4A1's "
                        "L-layer functions, W4A2's two_layer_model and L_layer_model), told apart by the functions "
                        "they define; a folder means its .ipynb and .py files")
    p.add_argument("--problems", type=_bounded(positive_int, MAX_PROBLEMS), default=3, metavar="N",
                   help=f"random problems to try, at most {MAX_PROBLEMS} (default: 3); week 4 has one problem at "
                        "each depth L = 1 to 4")
    p.add_argument("--seed", type=seed, default=0, help="seed of the random problems (default: 0)")
    p.add_argument("--timeout", type=positive_float, default=TIMEOUT, metavar="S",
                   help=f"CPU seconds each file's functions may use (default: {TIMEOUT:g}); waiting counts "
                        "too, up to 5 times as long")
    p.add_argument("--memory", type=_memory(positive_float), default=MEMORY / GiB, metavar="GB",
                   help=f"address space each file's code may use, in GB (default: {MEMORY / GiB:g})")
    p.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                   help="files graded at the same time, each in its own process (default and most: the cores)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="write every file's full result as JSON")
    p.add_argument("--csv", type=Path, default=None, metavar="PATH",
                   help="write a gradebook: one row per file with its verdict, points, first mistake and hint")
    p.set_defaults(func=cmd_check)


def _bounded(parse, most):
    def bounded(text):
        import argparse
        value = parse(text)
        if value > most:
            raise argparse.ArgumentTypeError(f"{text!r} must be <= {most}")
        return value
    return bounded


def _memory(parse):
    def memory(text):
        import argparse
        value = parse(text)
        if not MEMORY_GB[0] <= value <= MEMORY_GB[1]:
            raise argparse.ArgumentTypeError(f"{text!r} must be from {MEMORY_GB[0]:g} (Python with NumPy needs "
                                             f"about 0.4 GB) to {MEMORY_GB[1]:g} (128 TiB, a process's address space)")
        return value
    return memory


def cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_outputs(args, files):
    """Refuse, before any work, a destination that is a folder, a special file, one of the inputs, a name the
    next run would grade as a submission, or the other destination."""
    from impls.io.files import check_destination
    outputs = [(flag, path) for flag, path in (("--json", args.json), ("--csv", args.csv)) if path is not None]
    for flag, path in outputs:
        if path.suffix in SUFFIXES:
            raise ValueError(f"{flag} {path}: a {path.suffix} name would be graded as a submission next time; "
                             f"choose another, such as {path.with_suffix('.json' if flag == '--json' else '.csv')}")
        check_destination(path, [("file to grade", p) for p in files], f"{flag} {path}")
    if len(outputs) == 2 and os.path.abspath(args.json) == os.path.abspath(args.csv):
        raise ValueError(f"--json and --csv name the same file, {args.json}")


def cmd_check(args):
    processes.allow()
    submissions, notes = collect(args.files)
    paths = [s.path for s in submissions]
    check_outputs(args, [p for s, p in zip(submissions, paths) if not s.problem])
    memory = int(args.memory * GiB)
    previous = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
    try:
        if len(submissions) == 1 and not notes and args.json is None and args.csv is None:
            if submissions[0].problem:
                raise ValueError(f"{submissions[0].path}: {submissions[0].problem}")
            result = check_file(paths[0], problems=args.problems, seed=args.seed, timeout=args.timeout, memory=memory)
            print(format_grade(result, paths[0].name))
            return 0 if result.ok else 1
        return _grade_class(args, submissions, notes, memory)
    except KeyboardInterrupt:
        processes.stop_all()  # every file's processes, now
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops a run as Ctrl-C does


def _main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def _grade_class(args, submissions, notes, memory):
    from impls.io.files import atomic_write
    wanted = args.jobs or cores()
    jobs = min(wanted, cores())
    if wanted > jobs:
        notes.insert(0, f"--jobs {wanted}: this machine has {cores()} cores; grading {jobs} files at a time")
    for note in notes:
        print(f"Note: {note}")
    paths = [s.path for s in submissions if not s.problem]

    def grade_one(submission):
        if submission.problem:
            return Grade(name=submission.path.name, error=submission.problem)
        try:
            return check_file(submission.path, problems=args.problems, seed=args.seed, timeout=args.timeout,
                              memory=memory, hidden=hidden_modules(submission.path, paths))
        except ValueError as e:
            return Grade(name=submission.path.name, error=str(e).removeprefix(f"{submission.path}: "))
    rows = []
    pool = ThreadPoolExecutor(max_workers=jobs)  # each file has its own child: side by side
    try:
        graded = [pool.submit(grade_one, s) for s in submissions]
        for submission, future in zip(submissions, graded):  # printed in the files' order
            result = future.result()
            rows.append((str(submission.path), result))
            print(table_line(str(submission.path), result), flush=True)
    except BaseException:  # Ctrl-C: the files not started are not started, the running ones stopped
        processes.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    results = [r for _, r in rows]
    if args.json is not None:  # written before the last lines are printed: a closed pipe does not lose them
        counts = {v: sum(r.verdict == v for r in results) for v in ("pass", "fail", "error")}
        text = json.dumps({"files": [{"file": f, **r.to_dict()} for f, r in rows], "notes": notes,
                           "summary": {**counts, "points": sum(r.points for r in results),
                                       "max_points": sum(r.max_points for r in results)}},
                          indent=1, allow_nan=False, default=str)
        atomic_write(args.json, lambda f: f.write(text.encode()))
    if args.csv is not None:
        text = gradebook_csv(rows)
        atomic_write(args.csv, lambda f: f.write(text.encode()))
    print(summary(results))
    for flag, path in (("JSON", args.json), ("CSV", args.csv)):
        if path is not None:
            print(f"{flag} gradebook written to {path}")
    return 2 if any(r.error for r in results) else 1 if not all(r.ok for r in results) else 0
