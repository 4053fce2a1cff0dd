"""How `check` prints a grade: one file in full, a class one line each, and the gradebook's CSV rows.

Every text a student controls (a file name, an exception's message, a line of their code) is escaped before
it is printed (compare.cli.one_line), and in the class table it never starts a line: the verdict does.
"""
import csv
import io
import textwrap

from compare.cli import one_line

from .grading import EQUATIONS

LABELS = {"cache": "The cache", "parameters": "The parameters", "process": "Your code did not answer",
          "forward_propagation": "forward_propagation", "backward_propagation": "backward_propagation"}
WIDTH = 116  # a function's verdict wraps at this width
CSV_COLUMNS = ("file", "verdict", "points", "max_points", "first_wrong", "problem", "hint")


def format_grade(result, name):
    """The grade as the command prints it for one file."""
    if result.assignment == "week 4":
        return _week4(result, name)
    sizes = ", ".join(str(s) for s in result.problems)
    lines = [f"Grading {one_line(name)}: forward_propagation and backward_propagation (tanh hidden layer, sigmoid "
             "output)", f"  against the project's NumPy backend on random problems (n_x, n_h, m) = {sizes}, n_y = 1,",
             "  with weights of order 1 and non-zero biases, so that tanh is far from linear and no mistake hides", ""]
    for eq, text in EQUATIONS.items():
        status = result.status[eq]
        if status == "ok" and eq in result.seen:
            status = f"ok (seen through {result.seen[eq]})"
        lines.append(f"  {eq}  {text:30}{status}")
    graded = {n: v for n, v in result.functions.items() if not v.startswith("not graded")}
    if result.functions:
        lines.append("")
        for name, verdict in graded.items():  # long verdicts wrap under themselves
            lines += textwrap.wrap(verdict, WIDTH, initial_indent=f"  {name:22}", subsequent_indent=" " * 26,
                                   break_on_hyphens=False, break_long_words=False)
        absent = [n for n in result.functions if n not in graded]
        if absent:
            lines.append(f"  not graded (not defined in the file): {', '.join(absent)}")
    lines.append("")
    if result.version:
        lines.append(f"Course version: {result.version}")
    lines += [f"Note: {note}" for note in result.notes]
    lines.append(f"Points: {result.points} of {result.max_points} (one per equation right, one per other function "
                 "that passes)")
    if result.ok:
        error = f" (largest relative difference {result.largest_error:.1e})" if result.largest_error is not None else ""
        lines.append(f"All ten equations are right on {len(result.problems)} random problems: your code computes "
                     f"what the backends compute{error}.")
        return "\n".join(lines)
    if result.wrong:
        lines += _wrong(result)
    else:
        lines.append("The ten equations are right; other functions are not (above).")
    return "\n".join(lines)


def _functions(result):
    """Each graded function's verdict, long ones wrapped under themselves; then the ones not defined."""
    graded = {n: v for n, v in result.functions.items() if not v.startswith("not graded")}
    lines = []
    for name, verdict in graded.items():
        lines += textwrap.wrap(verdict, WIDTH, initial_indent=f"  {name:28}", subsequent_indent=" " * 30,
                               break_on_hyphens=False, break_long_words=False)
    absent = [n for n in result.functions if n not in graded]
    if absent:
        lines += textwrap.wrap(f"not graded (not defined in the file): {', '.join(absent)}", WIDTH,
                               initial_indent="  ", subsequent_indent="    ")
    return lines


def _week4(result, name):
    from .week4 import DEPTHS, MODELS
    ONE_PROBLEM = ("initialize_parameters",) + MODELS  # graded on one problem, not at every depth
    lines = [f"Grading {one_line(name)}: the course's week-4 functions (L layers: ReLU hidden layers, sigmoid "
             "output)", f"  against the project's NumPy week-4 functions at depth L = {', '.join(map(str, DEPTHS))},"
             " layer widths that all differ,", "  weights of order 1 and non-zero biases, so that no mistake hides",
             ""] + _functions(result) + [""]
    if result.version:
        lines.append(f"Course version: {result.version}")
    lines += [f"Note: {note}" for note in result.notes]
    lines.append(f"Points: {result.points} of {result.max_points} (one per function that passes)")
    graded = sum(not v.startswith("not graded") for v in result.functions.values())
    if result.wrong:
        first = result.wrong[0]
        lines += [f"{LABELS.get(first['name'], first['name'])}:"] + [f"  {x}" for x in first["problem"].splitlines()]
    elif result.ok:
        error = f" (largest relative difference {result.largest_error:.1e})" if result.largest_error is not None else ""
        every = [n for n, v in result.functions.items() if v == "ok" and n not in ONE_PROBLEM]
        lines.append(f"All {graded} functions are right{' at L = 1, 2, 3 and 4' if every else ''}{error}.")
    else:
        wrong = [n for n, v in result.functions.items() if v.startswith("WRONG")]
        lines.append(f"{len(wrong)} of {graded} functions are wrong (above): start with {wrong[0]}.")
    return "\n".join(lines)


def _wrong(result):
    first = result.wrong[0]
    eq = first["name"]
    verdict = "is wrong" if first["reached"] else "is never reached: the code fails before it"
    where = f" ({result.where})" if result.where else ""
    title = f"{eq} {verdict}{where}: {EQUATIONS[eq]}" if eq in EQUATIONS else f"{LABELS.get(eq, eq)}{where}:"
    lines = [title] + [f"  {line}" if i == 0 else line for i, line in enumerate(first["problem"].splitlines())]
    if first["hint"]:
        lines.append(f"Hint: {first['hint']}")
    for other in result.wrong[1:]:
        named = f" ({EQUATIONS[other['name']]})" if other["name"] in EQUATIONS else ""
        lines.append(f"Also wrong: {other['name']}{named}: {other['problem'].splitlines()[0]}")
    if result.also:
        lines.append(f"Also off: {', '.join(result.also)}; fix {eq} first, they may follow.")
    return lines


def table_line(name, result):
    """One line of the class table: the verdict and points first, then the file and what failed first."""
    head = f"{result.verdict.upper():5}  {result.points:2}/{result.max_points:<2}  {one_line(name)}"
    if result.error:
        return f"{head}  {one_line(result.error)}"
    if result.ok:
        return head
    if result.wrong:
        first = result.wrong[0]
        what = f"{first['name']} {EQUATIONS[first['name']]}" if first["name"] in EQUATIONS else first["name"]
        more = f" (+{len(result.wrong) - 1} more)" if len(result.wrong) > 1 else ""
        return f"{head}  {what}: {one_line(first['problem'].splitlines()[0])}{more}"
    return f"{head}  {result.first}: {one_line(result.functions[result.first][7:])}"


def summary(results):
    """'3 files: 1 pass, 1 fail, 1 cannot be graded; 30 of 42 points'."""
    counts = {v: sum(r.verdict == v for r in results) for v in ("pass", "fail", "error")}
    points, most = sum(r.points for r in results), sum(r.max_points for r in results)
    return f"{len(results)} file{'s' * (len(results) != 1)}: {counts['pass']} pass, {counts['fail']} fail, " \
           f"{counts['error']} cannot be graded; {points} of {most} points"


def gradebook_csv(rows):
    """The CSV text of (file, Grade) rows: one row per file; a cell that a spreadsheet would run as a formula
    (=, +, -, @ first) is quoted with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for file, result in rows:
        problem = result.error or (result.wrong[0]["problem"].splitlines()[0] if result.wrong else
                                   result.functions.get(result.first, "")[7:])
        hint = "" if result.error else result.hint if result.wrong else ""
        if not result.error and not result.wrong and ". Hint: " in problem:  # a week-4 verdict carries its hint
            problem, hint = problem.split(". Hint: ", 1)
        writer.writerow([_cell(c) for c in (file, result.verdict, result.points, result.max_points, result.first,
                                            problem, hint)])
    return out.getvalue()


def _cell(value):
    text = one_line(value) if isinstance(value, str) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
