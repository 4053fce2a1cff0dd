"""The `check` command: one file in full, or a class of files one line each with a summary and a JSON gradebook."""
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .grading import EQUATIONS

GiB = 2**30
LABELS = {"cache": "The cache", "parameters": "The parameters", "process": "Your code did not answer"}  # what is not an equation


def format_grade(result, name):
    """The grade as the command prints it for one file."""
    sizes = ", ".join(str(s) for s in result.problems)
    lines = [f"Grading {name}: forward_propagation and backward_propagation (tanh hidden layer, sigmoid output)",
             f"  against the project's NumPy backend on random problems (n_x, n_h, m) = {sizes}, n_y = 1,",
             "  with weights of order 1 and non-zero biases, so that tanh is far from linear and no mistake hides", ""]
    for eq, text in EQUATIONS.items():
        status = result.status[eq]
        if status == "ok" and eq in ("B1", "B4"):
            status = f"ok (seen through {'dW2, db2' if eq == 'B1' else 'dW1' + ', db1' * (result.status['B6'] == 'ok')})"
        lines.append(f"  {eq}  {text:30}{status}")
    graded = {n: v for n, v in result.functions.items() if not v.startswith("not graded")}
    if result.functions:
        lines.append("")
        lines += [f"  {name:22}{verdict}" for name, verdict in graded.items()]
        absent = [n for n in result.functions if n not in graded]
        if absent:
            lines.append(f"  not graded (not defined in the file): {', '.join(absent)}")
    lines.append("")
    if result.ok:
        lines.append(f"All ten equations are right on {len(result.problems)} random problems: your code computes "
                     f"what the backends compute (largest relative difference {result.largest_error:.1e}).")
        return "\n".join(lines)
    if result.wrong:
        first = result.wrong[0]
        eq = first["name"]
        verdict = "is wrong" if first["reached"] else "is never reached: the code fails before it"
        where = f" ({result.where})" if result.where else ""
        title = f"{eq} {verdict}{where}: {EQUATIONS[eq]}" if eq in EQUATIONS else f"{LABELS[eq]}{where}:"
        lines.append(title)
        lines += [f"  {line}" if i == 0 else line for i, line in enumerate(first["problem"].splitlines())]
        if first["hint"]:
            lines.append(f"Hint: {first['hint']}")
        for other in result.wrong[1:]:
            lines.append(f"Also wrong: {other['name']}" + (f" ({EQUATIONS[other['name']]})" if other['name'] in EQUATIONS
                                                            else "") + f": {other['problem'].splitlines()[0]}")
        if result.also:
            lines.append(f"Also off: {', '.join(result.also)}; fix {eq} first, they may follow.")
    else:
        lines.append("The ten equations are right; other functions are not (above).")
    return "\n".join(lines)


def summary_line(name, result, error=None):
    """One line of the class table: name, verdict, the first wrong equation or what failed."""
    if error is not None:
        return f"{name}  ERROR  {error}"
    if result.ok:
        return f"{name}  PASS"
    if result.wrong:
        first = result.wrong[0]
        what = f"{first['name']} {EQUATIONS[first['name']]}" if first["name"] in EQUATIONS else first["name"]
        more = f" (+{len(result.wrong) - 1} more)" if len(result.wrong) > 1 else ""
        return f"{name}  FAIL  {what}: {first['problem'].splitlines()[0]}{more}"
    name_wrong = next(n for n, v in result.functions.items() if v.startswith("WRONG"))
    return f"{name}  FAIL  {name_wrong}: {result.functions[name_wrong][7:]}"


def register(subparsers):
    from compare.cli import positive_float, positive_int

    p = subparsers.add_parser("check", help="grade course-style forward_propagation and backward_propagation "
                              "(and the assignment's other functions) equation by equation, one file or a class")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE_OR_DIR",
                   help="Python files defining forward_propagation(X, parameters) -> (A2, cache) and "
                        "backward_propagation(parameters, cache, X, Y) -> grads; a folder means its .py files")
    p.add_argument("--problems", type=positive_int, default=3, metavar="N",
                   help="random problems to try (default: 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random problems (default: 0)")
    p.add_argument("--timeout", type=positive_float, default=10.0, metavar="S",
                   help="seconds each file's code may run (default: 10)")
    p.add_argument("--memory", type=positive_float, default=2.0, metavar="GB",
                   help="memory each file's code may use, in GB (default: 2)")
    p.add_argument("--jobs", type=positive_int, default=min(4, os.cpu_count() or 1), metavar="N",
                   help="files graded at the same time, each in its own process (default: the cores, at most 4)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="write every file's full result as JSON")
    p.set_defaults(func=cmd_check)


def student_files(paths):
    """The files to grade: each file named, and the .py files of each folder named, sorted."""
    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.py") if p.is_file())
            if not found:
                raise ValueError(f"{path}: a folder with no .py files")
            files += found
        else:
            files.append(path)
    return files


def check_output(path, inputs):
    """Refuse, before any work, a JSON destination that is a folder, a special file or one of the inputs."""
    from impls.files import check_destination
    return check_destination(path, [("file to grade", p) for p in inputs], f"--json {path}")


def cmd_check(args):
    from impls.files import atomic_write

    from . import check_file
    files = student_files(args.files)
    if args.json is not None:
        check_output(args.json, files)
    memory = int(args.memory * GiB)
    if len(files) == 1 and args.json is None:
        result = check_file(files[0], problems=args.problems, seed=args.seed, timeout=args.timeout, memory=memory)
        print(format_grade(result, files[0].name))
        return 0 if result.ok else 1

    def grade_one(path):
        try:
            return check_file(path, problems=args.problems, seed=args.seed, timeout=args.timeout,
                              memory=memory), None
        except ValueError as e:
            return None, str(e)
    rows, counts = [], {"pass": 0, "fail": 0, "error": 0}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each file has its own child: side by side
        graded = [pool.submit(grade_one, path) for path in files]
        try:
            for path, future in zip(files, graded):  # printed in the files' order
                result, error = future.result()
                verdict = "error" if error else "pass" if result.ok else "fail"
                counts[verdict] += 1
                print(summary_line(str(path), result, error), flush=True)
                rows.append({"file": str(path), "verdict": verdict, "error": error,
                             **(result.to_dict() if result else {}), "output": result.output if result else ""})
        except BaseException:  # Ctrl-C: the files not started are not started
            pool.shutdown(cancel_futures=True)
            raise
    if args.json is not None:  # written before the last lines are printed: a closed pipe does not lose it
        text = json.dumps({"files": rows, "summary": counts}, indent=1, allow_nan=False, default=str)
        atomic_write(args.json, lambda f: f.write(text.encode()))
    print(f"{len(files)} file{'s' * (len(files) != 1)}: {counts['pass']} pass, {counts['fail']} fail, "
          f"{counts['error']} cannot be loaded")
    if args.json is not None:
        print(f"Results written to {args.json}")
    return 2 if counts["error"] else 1 if counts["fail"] else 0
