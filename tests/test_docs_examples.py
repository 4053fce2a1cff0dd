"""What the README and the docs quote is what runs: each quoted `$ python -m compare ...` prints what is quoted,
each Python example runs, and the site builds offline with no warning. Slow where they run a command, an
example or the build."""
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from compare.cli import main
from docs_text import PAGES, README, ROOT, blocks, matches, quoted_runs, rel

QUOTED = {}
for _where, _command, _lines in quoted_runs():
    QUOTED.setdefault(_command, []).append((_where, _lines))
EXACT = ("check", "train")  # what they print is the same on every machine; the others print rounding
OUTPUTS = ("--csv", "--json", "--save", "--out", "--plots", "--graph")  # written to a scratch folder instead
# Files a page quotes a run on that the project cannot ship (the course's), each named by a variable when a copy
# is at hand; without it that quote's test skips, saying which variable runs it.
NOT_SHIPPED = {"train_catvnoncat.h5": "BACKPROP_COMPARE_CATVNONCAT"}
_printed = {}


def run_quoted(command, scratch, capsys, monkeypatch):
    """What `command` prints (standard output, then standard error), run once per test session, with the files
    it writes sent to `scratch` and their paths printed as the command names them."""
    if command not in _printed:
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "compare"], f"the docs quote {command!r}: the tests run only the CLI"
        argv = argv[3:]
        subcommand = argv[0] if argv and not argv[0].startswith("-") else "run"
        if subcommand == "run" and not {"--plots", "--no-plots"} & set(argv):
            argv += ["--plots", "compare-plots"]
        argv = [str(scratch / a) if i and argv[i - 1] in OUTPUTS else a for i, a in enumerate(argv)]
        for name, variable in NOT_SHIPPED.items():
            if name in argv:
                if not os.environ.get(variable):
                    pytest.skip(f"set {variable} to a copy of the course's {name} to check this quote")
                argv = [os.environ[variable] if a == name else a for a in argv]
        monkeypatch.chdir(ROOT)  # the paths it reads are the repository's
        capsys.readouterr()
        status = main(argv)
        out, err = capsys.readouterr()
        printed = (out + err).replace(f"{scratch}{os.sep}", "")
        for name, variable in NOT_SHIPPED.items():
            if os.environ.get(variable):
                printed = printed.replace(os.environ[variable], name)
        _printed[command] = (status, printed.splitlines(), subcommand in EXACT)
    return _printed[command]


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(QUOTED), ids=lambda c: c.removeprefix("python -m compare").strip() or "run")
def test_every_quoted_output_is_what_the_command_prints(command, tmp_path, capsys, monkeypatch):
    status, printed, exact = run_quoted(command, tmp_path, capsys, monkeypatch)
    assert status in (0, 1), "\n".join(printed[-5:])
    for where, lines in QUOTED[command]:
        wrong = matches(lines, printed, masked=not exact)
        assert wrong is None, (f"{where}: `{command}` no longer prints this part of the quote:\n{wrong}\n\n"
                               "it prints:\n" + "\n".join(printed))


def test_the_quote_checker_catches_a_changed_output():
    printed = ["a 1.5e-16 ok", "b 2", "All 54 checks pass", "Plots written"]
    assert matches(["a 1.5e-16 ok", "...", "All 54 checks pass", "..."], printed) is None
    assert matches(["a 9.9e-17 ok", "...", "All 54 checks pass", "..."], printed, masked=True) is None
    assert matches(["a 9.9e-17 ok", "..."], printed) == "a 9.9e-17 ok"
    assert matches(["...", "All 53 checks pass", "..."], printed, masked=True) == "All 53 checks pass"
    assert matches(["...", "All 54 checks pass", "...", "a 1.5e-16 ok"], printed) == "a 1.5e-16 ok"  # order
    assert matches(printed[:3], printed) == "\n".join(printed[:3])  # no `...`: the whole output
    assert matches(["b", "..."], printed) == "b"  # whole lines only


def test_the_docs_quote_the_main_commands_output():
    quoted = {c.removeprefix("python -m compare").strip() for c in QUOTED}
    assert {"", "check tests/notebooks --csv grades.csv", "explain --trace"} <= quoted
    assert any(where.startswith("README.md") for where, _ in QUOTED["python -m compare"])


def python_examples():
    """(where, code) of every Python block that is an example, not a quote of a source file."""
    for path in [README, *PAGES]:
        for line, kind, code in blocks(path):
            if kind == "python" and not code.startswith("# impls/"):
                yield f"{rel(path)}, line {line}", code


def example_namespace():
    import impls
    from impls.io.datasets import load_dataset
    from sklearn.model_selection import train_test_split
    X, Y = load_dataset("planar")
    X_train, X_test, y_train, y_test = train_test_split(X.T, Y.ravel(), test_size=0.25, random_state=0)
    namespace = {"impls": impls, "X": X, "Y": Y, "params": impls.init_params(2, 4), "my_backend":
                 impls.get_backend("tape"), "X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}
    exec(compile((ROOT / "tests" / "students" / "right_course.py").read_text(), "<notebook cell>", "exec"), namespace)
    return namespace


# What an example leaves to its reader to fill in, filled in: a package of the reader's own, a course length.
STAND_INS = {'"mypackage.mymodule:Mine"': '"tests/user_backends/mine.py:Mine"'}


@pytest.mark.slow
@pytest.mark.parametrize("where, code", list(python_examples()), ids=[w for w, _ in python_examples()])
def test_every_python_example_runs(where, code, tmp_path, monkeypatch):
    if "torch" in code:
        pytest.importorskip("torch")
    if '"jax"' in code:
        pytest.importorskip("jax")
    monkeypatch.chdir(tmp_path)  # model.npz and the like land here
    namespace = example_namespace()
    for old, new in STAND_INS.items():
        code = code.replace(old, new)
    if "torch-ddp" in code:
        code = code.replace("iterations=10000", "iterations=200")  # the workers' all-reduce: seconds per 100 steps
    monkeypatch.syspath_prepend(str(ROOT))
    exec(compile(code, where, "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):  # a test the reader would put in their suite
            monkeypatch.chdir(ROOT)
            value()


def test_grading_from_a_notebook_gives_the_points_the_docs_promise():
    from compare.teach.check import grade
    snippet = next(code for _, code in python_examples() if "from compare.teach.check import grade" in code)
    namespace = example_namespace()
    exec(compile(snippet, "<docs/teaching.md>", "exec"), namespace)  # a notebook's cell: its globals are the notebook's
    results = [grade(namespace["forward_propagation"], namespace["backward_propagation"]), grade(namespace)]
    assert [r.points for r in results] == [10, 16]


# Any request the build makes goes to a port where nothing listens: an offline machine, as far as it can tell.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}


def no_network():
    """`unshare -n`, which runs a command in a network namespace of its own with no network at all, where this
    machine allows it (Linux, as root or with user namespaces); else nothing, and the proxies must do."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


FOREIGN = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.I)


@pytest.mark.slow
def test_the_site_builds_offline_strictly_and_loads_nothing_from_elsewhere(tmp_path):
    if not all(importlib.util.find_spec(m) for m in ("mkdocs", "material", "mkdocstrings_handlers.python")):
        pytest.skip('MkDocs is not installed: pip install -c constraints.txt -e ".[docs]" (the test extra has it)')
    clone = tmp_path / "clone"  # what a fresh clone has: no site/, no caches
    clone.mkdir()
    for name in ("mkdocs.yml", "README.md", "pyproject.toml"):
        shutil.copy2(ROOT / name, clone / name)
    for name in ("docs", "impls", "compare"):
        shutil.copytree(ROOT / name, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, **OFFLINE, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": ""}
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")]
    done = subprocess.run(no_network() + build, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr
    pages = {p.relative_to(tmp_path / "site").as_posix(): p.read_text(encoding="utf-8")
             for p in (tmp_path / "site").rglob("*.html")}
    assert {f"{p.stem}/index.html" for p in PAGES if p.stem != "index"} | {"index.html"} <= set(pages)
    foreign = [f"{name}: {m.group(0)}" for name, html in pages.items() for m in FOREIGN.finditer(html)]
    assert not foreign, "pages that load from another host:\n" + "\n".join(foreign)
    api = pages["api/index.html"]
    for name in ("impls.get_backend", "impls.init_params", "impls.available_backends", "impls.Backend",
                 "impls.TrainResult", "ShallowNetClassifier", "save_model", "load_model", "compare_backends",
                 "assert_backends_agree", "check_file", "load_dataset"):
        assert name in api, f"the API reference has no {name}"
    assert "Check that every backend computes what the first one" in api  # a docstring's text, not only its name
