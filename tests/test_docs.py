"""Documentation that cannot rot: the README and the docs pages name commands, flags, files and code that exist,
the walkthrough's code is the real code, and the notebook runs. (What the quoted commands print, the Python
examples and the site's build: test_docs_examples.py.)"""
import argparse
import io
import json
import os
import re
import sys
from contextlib import redirect_stdout

import pytest

from docs_text import PAGES, README, REPO_PATH, ROOT, TEXTS, blocks, command_lines, prose, rel

DOC = ROOT / "docs" / "backprop-to-autograd.md"
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
SOURCE = re.compile(r"#\s*(impls/\S+\.py)\s*$")
# Flags of other programs that the docs name: pytest's --all is this project's own (tests/conftest.py).
OTHER_FLAGS = {
    "pytest": {"--all"}, "mkdocs build": {"--strict"},
    "torchrun": {"--nnodes", "--node-rank", "--nproc-per-node", "--master-addr", "--master-port"},
    "chromium": {"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"},
    "XLA_FLAGS": {"--xla_force_host_platform_device_count"},
}


def _normal(line):
    return " ".join(line.split())  # indentation and alignment may differ; every token must not


def quoted_snippets(text):
    """(line in the doc, the file it quotes, its code lines) for every block that starts with a file name."""
    for match in FENCE.finditer(text):
        lines = match.group(2).splitlines()
        source = SOURCE.match(lines[0]) if lines else None
        if source:
            yield text[:match.start()].count("\n") + 1, source.group(1), lines[1:]


def missing_from(code, path):
    """The first line of `code` that `path` does not contain where it should, or None.

    Lines between two `...` lines are a contiguous run of the file; runs appear in the file in order.
    """
    text = [_normal(line) for line in (ROOT / path).read_text(encoding="utf-8").splitlines()]
    runs, run = [], []
    for line in code:
        if line.strip() == "...":
            runs.append(run)
            run = []
        elif line.strip():
            run.append(_normal(line))
    runs.append(run)
    start = 0
    for run in filter(None, runs):
        found = next((i for i in range(start, len(text) - len(run) + 1) if text[i:i + len(run)] == run), None)
        if found is None:
            matched = max(n for n in range(len(run)) if any(text[i:i + n] == run[:n] for i in range(start, len(text))))
            return run[matched]  # the first line after the longest part that is still there
        start = found + len(run)
    return None


def test_every_snippet_the_walkthrough_quotes_is_in_the_real_file():
    text = DOC.read_text(encoding="utf-8")
    snippets = list(quoted_snippets(text))
    assert len(snippets) >= 10
    stale = []
    for line, path, code in snippets:
        if not (ROOT / path).is_file():
            stale.append(f"{DOC.name}, line {line}: quotes {path}, which does not exist")
        elif (missing := missing_from(code, path)) is not None:
            stale.append(f"{DOC.name}, line {line}: the snippet quoted from {path} no longer matches it; "
                         f"not found there: {missing!r}")
    assert not stale, "update docs/backprop-to-autograd.md:\n" + "\n".join(stale)


def test_the_walkthrough_quotes_every_equation_and_every_autograd_call():
    quoted = {}
    for _, path, code in quoted_snippets(DOC.read_text(encoding="utf-8")):
        quoted.setdefault(path, []).extend(code)
    numpy_tags = {m for line in quoted["impls/backends/numpy.py"] for m in re.findall(r"#\s*([FB][1-6])\b", line)}
    assert numpy_tags == {f"F{i}" for i in range(1, 5)} | {f"B{i}" for i in range(1, 7)}
    for path in ("impls/backends/torch.py", "impls/backends/jax.py"):
        assert {m for line in quoted[path] for m in re.findall(r"#\s*(F[1-4])\b", line)} == {"F1", "F2", "F3", "F4"}
    for path, call in (("impls/backends/torch.py", "torch.autograd.grad("), ("impls/backends/jax.py", "jax.grad("),
                       ("impls/backends/jax.py", "jax.vjp(")):
        assert any(call in line for line in quoted[path]), f"the walkthrough no longer quotes {call}"


def test_the_checker_finds_a_stale_snippet(tmp_path):
    assert missing_from(['Z1 = np.dot(p["W1"], X) + p["b1"]                           # F1'],
                        "impls/backends/numpy.py") is None
    assert missing_from(["dZ2 = cache['A2'] + Y"], "impls/backends/numpy.py") == "dZ2 = cache['A2'] + Y"
    # each run is contiguous, and the runs come in the file's order
    assert missing_from(["m = X.shape[1]", "dW1 = np.dot(dZ1, X.T) / m"],
                        "impls/backends/numpy.py") == "dW1 = np.dot(dZ1, X.T) / m"
    assert missing_from(["dW1 = np.dot(dZ1, X.T) / m", "...", "m = X.shape[1]"], "impls/backends/numpy.py") is not None


def test_every_link_and_picture_resolves():
    broken = []
    for doc in TEXTS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", prose(doc)):
            if not (doc.parent / target).exists():
                broken.append(f"{rel(doc)} links to {target}, which does not exist")
            elif doc.parent == ROOT / "docs" and not (doc.parent / target).resolve().is_relative_to(ROOT / "docs"):
                broken.append(f"{rel(doc)} links to {target}, outside docs/: the site would not have it")
    assert not broken, "\n".join(broken)


def test_every_file_the_docs_name_exists():
    missing = sorted({f"{rel(doc)}: {path}" for doc in TEXTS for path in REPO_PATH.findall(doc.read_text("utf-8"))
                      if not (ROOT / path.split(":")[0]).exists()})
    assert not missing, "named in the docs, not in the repository:\n" + "\n".join(missing)


def test_the_path_finder_finds_paths_and_only_paths():
    text = "see impls/backends/numpy.py:63, `compare/isolated/`, compare-plots/ and tests/notebooks."
    assert REPO_PATH.findall(text) == ["impls/backends/numpy.py", "compare/isolated/", "tests/notebooks"]


def _parsers():
    from compare.cli import build_parser
    top = build_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return top, sub.choices


def test_every_command_line_in_the_docs_parses():
    top, _ = _parsers()
    found, wrong = 0, []
    for where, argv in command_lines():
        found += 1
        if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
            argv = ["run", *argv]
        try:
            top.parse_args(argv)
        except SystemExit:
            wrong.append(f"{where}: python -m compare {' '.join(argv)}")
    assert found >= 30 and not wrong, "these do not parse:\n" + "\n".join(wrong)


def test_every_flag_the_docs_name_exists(capsys):
    _, commands = _parsers()
    known = {option for parser in commands.values() for action in parser._actions for option in action.option_strings}
    for module in ("compare.playground.measure", "compare.playground.loadtest"):
        __import__(module)
        with redirect_stdout(io.StringIO()) as help_text, pytest.raises(SystemExit):
            sys.modules[module].main(["--help"])
        known |= set(re.findall(r"--[a-z][\w-]*", help_text.getvalue()))
    known |= set().union(*OTHER_FLAGS.values())
    unknown = sorted({f"{rel(doc)}: {flag}" for doc in TEXTS
                      for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", doc.read_text("utf-8")) if flag not in known})
    assert not unknown, "flags no command has:\n" + "\n".join(unknown)


def test_every_page_is_in_the_sites_navigation_and_every_entry_is_a_page():
    nav = re.findall(r"^  - [^:]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M)
    assert sorted(nav) == sorted(p.name for p in PAGES)
    assert nav[0] == "index.md" and nav[-1] == "api.md"


def test_the_readme_is_read_in_minutes_and_its_test_command_is_what_ci_runs():
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    commands = [code for _, kind, code in blocks(README) if kind == "bash" and code.startswith("python3 -m venv")]
    assert len(commands) == 2 and commands[0].endswith("python -m compare")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].removeprefix("python3 -m venv .venv && ") in ci, "the README's test command is not .ci/run's"
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert "backprop-compare[docs]" in extras["test"], "CI installs .[all,test]: the docs build needs test to hold docs"
    assert {"mkdocs", "mkdocs-material", "mkdocstrings"} <= {re.split(r"[\[<>=]", d)[0] for d in extras["docs"]}


@pytest.mark.slow
def test_the_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # A kernel for this very interpreter, so that it works in a fresh venv with nothing registered.
    kernels = tmp_path / "kernels" / "backprop-compare-test"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "backprop-compare test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:  # run it afresh: the stored outputs must not be what passes the test
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(notebook, kernel_name="backprop-compare-test", timeout=300,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    printed = "".join(out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for out in cell.outputs)
    assert "Every difference is rounding" in printed
    assert "checks pass: the backends compute the same map" in printed
    assert "All ten equations are right" in printed and "B4 is wrong" in printed
    assert "matmul: grad wrt W2 = upstream · A1ᵀ" in printed  # the tape's trace
    images = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs
              if "image/png" in out.get("data", {})]
    assert len(images) >= 3


def test_the_notebook_is_stored_with_its_outputs():
    """A student browsing the repository sees the results. To refresh them, execute it with nbclient
    (as the test above does, from a scratch folder) and drop each cell's "execution" timestamps."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["outputs"] for cell in code), "execute the notebook and store its outputs"
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1)), "run top to bottom"
    text = "".join("".join(out.get("text", "")) for cell in code for out in cell["outputs"])
    assert "Traceback" not in text and "Error" not in text
    assert not re.search(r"(/home/|/work/|/tmp/|/Users/|[A-Z]:\\)", text), "no paths of one machine"
    assert all("execution" not in cell["metadata"] for cell in code), "no timestamps of one run"
    assert "Equations named: F1 F2 F3 F4 B1 B2 B3 B4 B5 B6 (all ten)" in text  # the traces, not a raw jaxpr
    assert "{ lambda" not in text
