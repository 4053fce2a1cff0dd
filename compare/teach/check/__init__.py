"""`python -m compare check FILE_OR_DIR ...`: grade students' course notebooks and files equation by equation.

A notebook or a .py file is read as notebook.py says (its definitions, not its experiments; the course's
helper modules come from course/); its code runs in a child process (sandbox.py, supervised by impls/processes.py
with runner.py's limits) that only calls the student's functions and sends back the raw outputs; every
reference value is computed here (problems.py, grading.py, assignment.py; mistakes.py words what is wrong).
checking.py grades one submission, cli.py a class; report.py prints them.
"""
from .checking import MEMORY, TIMEOUT, check_file, grade  # noqa: F401 - the API, and a notebook's import
from .grading import EQUATIONS  # noqa: F401
from .problems import build_job, distinct_sizes_problem, reference  # noqa: F401
from .report import format_grade  # noqa: F401 - the walkthrough notebook prints a grade with it
from .result import Grade  # noqa: F401


def register(subparsers):
    """The `check` command, for compare.cli (cli.py imports nothing from this package's __init__)."""
    from .cli import register as add
    add(subparsers)
