"""What a student hands in, as the code `check` runs: a .py file, or a notebook's code cells in order.

Only the statements that define something run, in order, so that a later definition replaces an earlier
one as when the notebook runs top to bottom: imports, functions, classes, and assignments whose value calls
nothing (`n_h = 4`, `layers_dims = [12288, 20, 7, 5, 1]`). The notebook's experiments do not run: test
calls, training runs, prints, plots, `np.random.seed(1)`. IPython's syntax (`%matplotlib inline`, `!pip
install`, `files = !ls`, `np.dot?`, a `%%time` cell) is set aside line by line, so that line numbers stay
those the student sees. Weeks 3 and 4 read their files the same way.
"""
import ast
import re
from dataclasses import dataclass, field
from importlib.util import decode_source
from pathlib import Path

SUFFIXES = (".py", ".ipynb")
PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")  # cell magics whose body is Python
MAGIC_ASSIGNMENT = re.compile(r"[\w.,\s\[\]()*]+=\s*[%!]")   # files = !ls, t = %timeit -o f()
HELP = re.compile(r"\?{1,2}[\w.*]+|[\w.*]+\?{1,2}")           # np.dot?, ?np.sum, np.dot??


@dataclass
class Statement:
    """A top-level statement that runs: where it is, the names it binds, whether it imports."""

    index: int
    line: int
    names: tuple
    text: str          # its first line, for messages
    imports: bool


@dataclass
class Unit:
    """A .py file, or one code cell: its Python source and the statements of it that run."""

    label: str         # "" for a .py file, "code cell 5" in a notebook
    filename: str      # the name tracebacks give it
    source: str
    statements: list = field(default_factory=list)
    error: str = ""    # why the unit is not Python (a SyntaxError, a %%bash cell); "" when it is


@dataclass
class Program:
    """The code of one submission: its units in order, and the notebook variables that are not set here."""

    path: Path
    units: list
    variables: dict = field(default_factory=dict)  # name -> where a statement that does not run sets it
    notes: list = field(default_factory=list)      # what was not read, for the report
    failed: dict = field(default_factory=dict)     # name -> (where, statement, error): statements that failed here

    def where(self, filename, line):
        """'line 12 of code cell 5' or 'line 12 of alice.py'."""
        unit = next((u for u in self.units if u.filename == filename), None)
        return f"line {line} of {unit.label if unit and unit.label else self.path.name}"

    def ran(self, failures):
        """Take the child's list of statements that failed when the file loaded (unit, index, error)."""
        for failure in failures:
            unit = self.units[failure["unit"]]
            statement = next((s for s in unit.statements if s.index == failure["index"]), None)
            if statement is None:
                continue
            place = f"line {statement.line}" + (f" of {unit.label}" if unit.label else "")
            for name in statement.names:
                self.failed[name] = (place, statement, failure["error"])

    def failed_imports(self):
        """'line 3 of code cell 1 (from google.colab import drive): ModuleNotFoundError: ...' for each import
        that failed here."""
        seen = {}
        for place, statement, error in self.failed.values():
            if statement.imports:
                seen[place] = f"{place} ({statement.text}): {error}"
        return list(seen.values())

    def explain(self, name):
        """Why `name` is not defined when the file is graded, if the file itself says: the words that follow
        the function's name ("reads the notebook variable `X`, ..."), or None."""
        if name in self.failed and self.failed[name][1].imports:
            place, statement, error = self.failed[name]
            return f"uses `{name}`, imported at {place} ({statement.text}), which fails here: {error}"
        if name in self.failed or name in self.variables:
            place = self.failed[name][0] if name in self.failed else self.variables[name]
            whole = "the notebook" if self.path.suffix == ".ipynb" else "the file"
            return f"reads the notebook variable `{name}`, which is not an argument ({whole} sets it at {place}, " \
                   "which check does not run)"
        return None


def read(path):
    """The Program of a .py or .ipynb file.

    Raises:
        ValueError: the file cannot be read, or a .py file is not Python (one line, no path).
    """
    path = Path(path)
    if path.suffix == ".ipynb":
        program = Program(path, [])
        for n, text in enumerate(_code_cells(path), start=1):
            _add(program, f"code cell {n}", f"<{path.name}, code cell {n}>", text)
        return program
    try:
        text = decode_source(path.read_bytes())
    except (UnicodeDecodeError, SyntaxError) as e:
        raise ValueError(f"is not a Python text file ({e})") from None
    except OSError as e:
        raise ValueError(f"cannot be read ({e.strerror or e})") from None
    program = Program(path, [])
    unit = _add(program, "", str(path.resolve()), text)
    if unit.error:
        raise ValueError(f"cannot be loaded: {unit.error}")
    return program


def _code_cells(path):
    import nbformat
    try:
        notebook = nbformat.read(str(path), as_version=4)
        return [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    except OSError as e:
        raise ValueError(f"cannot be read ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - nbformat raises many kinds for a file that is not a notebook
        raise ValueError(f"is not a Jupyter notebook nbformat can read ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from None


def _add(program, label, filename, text):
    source, magic_names, error = python_source(text)
    unit = Unit(label, filename, source, error=error)
    program.units.append(unit)
    of = f" of {label}" if label else ""
    for name in magic_names:
        program.variables.setdefault(name, f"an IPython line{of}")
    if error:
        if label:
            program.notes.append(f"{label} is not Python ({error}): its definitions are not graded")
        return unit
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as e:
        unit.error = f"SyntaxError: {e.msg} (line {e.lineno})"
        if label:
            program.notes.append(f"{label} is not Python ({unit.error}): its definitions are not graded")
        return unit
    lines = source.splitlines()
    for index, node in enumerate(tree.body):
        names = tuple(bound_names(node))
        if defines(node):
            text = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
            unit.statements.append(Statement(index, node.lineno, names, text,
                                             isinstance(node, (ast.Import, ast.ImportFrom))))
        else:
            for name in names:
                program.variables.setdefault(name, f"line {node.lineno}{of}")
    return unit


def python_source(text):
    """(source, names, error): the cell's text with IPython's syntax set aside line for line, the names its
    magic assignments set, and why it is not Python at all ("" when it is)."""
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return "", (), f"a %%{magic} cell"
        lines[0] = ""
    names, out = [], []
    for line, starts in zip(lines, statement_starts(lines)):
        code = line.lstrip()
        magic = starts and (code.startswith(("%", "!")) or HELP.fullmatch(code.rstrip()))
        assigned = starts and not magic and MAGIC_ASSIGNMENT.match(code)
        if assigned:
            names += re.findall(r"\w+", code[:code.index("=")])
        out.append(line[:len(line) - len(code)] + "pass" if magic or assigned else line)
    return "\n".join(out) + "\n", tuple(names), ""


def statement_starts(lines):
    """For each line, whether a new statement may start on it: outside brackets, strings and continuations."""
    starts, depth, quote, continued = [], 0, None, False
    for line in lines:
        starts.append(depth == 0 and quote is None and not continued)
        i = 0
        while i < len(line):
            c = line[i]
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i, quote = i + len(quote), None
                    continue
            elif c == "#":
                break
            elif c in "\"'":
                quote = line[i:i + 3] if line[i:i + 3] in ('"""', "'''") else c
                i += len(quote)
                continue
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                depth = max(0, depth - 1)
            i += 1
        if quote in ('"', "'"):
            quote = None  # a one-line string left open: Python reports it
        continued = quote is None and line.rstrip().endswith("\\")
    return starts


def defines(node):
    """Whether a top-level statement only defines things (and so runs when the file is graded)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
                         ast.Pass)):
        return True
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)  # a docstring
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(map(_plain_target, targets)) and not calls(node.value)
    if isinstance(node, ast.If):
        return not _is_main(node.test) and not calls(node.test) and all(map(defines, node.body + node.orelse))
    if isinstance(node, ast.Try):
        handlers = [n for h in node.handlers for n in h.body]
        return all(map(defines, node.body + handlers + node.orelse + node.finalbody))
    return False


def calls(node):
    """Whether evaluating `node` calls anything (a lambda's body runs later, not now)."""
    if node is None:
        return False
    if isinstance(node, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
        return True
    if isinstance(node, ast.Lambda):
        return any(map(calls, node.args.defaults + [d for d in node.args.kw_defaults if d is not None]))
    return any(map(calls, ast.iter_child_nodes(node)))


def _plain_target(node):
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Starred):
        return _plain_target(node.value)
    return isinstance(node, (ast.Tuple, ast.List)) and all(map(_plain_target, node.elts))


def _is_main(test):
    return isinstance(test, ast.Compare) and any(isinstance(n, ast.Name) and n.id == "__name__"
                                                 for n in ast.walk(test))


def bound_names(node):
    """The module-level names a top-level statement binds (not those local to a function or class it defines)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name.split(".")[0]
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            yield child.id
        elif not isinstance(child, (ast.Lambda, ast.comprehension, ast.ListComp, ast.SetComp, ast.DictComp,
                                    ast.GeneratorExp)):
            yield from bound_names(child)
