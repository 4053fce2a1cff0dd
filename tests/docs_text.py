"""Reading the README and the docs pages for their tests: code blocks, quoted commands and their outputs, paths.

A quoted run is a code block line `$ COMMAND` (continued on the next line after a `\\`) followed by what COMMAND
printed (standard output, then standard error), up to the next `$` line or the end of the block. A line `...`
stands for lines left out.
"""
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
TEXTS = [README, *PAGES]

FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```[ \t]*$", re.M | re.S)
# A path in this repository as the text names it: a file or folder under one of its top-level folders.
REPO_PATH = re.compile(r"(?<![\w./-])((?:impls|compare|tests|docs|notebooks|\.ci)/[\w./-]*\w/?)")


def rel(path):
    return path.relative_to(ROOT).as_posix()


def blocks(path):
    """(line number, kind, text) of every fenced code block, its indentation removed."""
    text = path.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        indent = len(match.group(1))
        code = "\n".join(line[indent:] for line in match.group(3).splitlines())
        yield text[:match.start()].count("\n") + 1, match.group(2), code


def prose(path):
    """The text outside the code blocks."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def quoted_runs(paths=TEXTS):
    """(where, command, quoted lines) for every `$ COMMAND` line in a code block."""
    for path in paths:
        for line, _, code in blocks(path):
            run, continued = None, False
            for offset, text in enumerate(code.splitlines()):
                if continued:  # the quoted command goes on: `\` ended its line
                    run = (run[0], run[1][:-1].rstrip() + " " + text.strip(), run[2])
                elif text.startswith("$ "):
                    if run:
                        yield run
                    run = (f"{rel(path)}, line {line + 1 + offset}", text[2:], [])
                elif run:
                    run[2].append(text)
                continued = bool(run) and not run[2] and run[1].endswith("\\")
            if run:
                yield run


def command_lines(paths=TEXTS):
    """(where, argv after `python -m compare`) of every such command in a code block, with the conventions of
    a synopsis undone: `[...]` marks what is optional (kept), `a|b` alternatives (the first is taken), `...`
    more of the same (dropped), `# ...` a comment, `\\` a continued line."""
    for path in paths:
        for line, kind, code in blocks(path):
            code = code.replace("\\\n", " ")
            for offset, text in enumerate(code.splitlines()):
                text = text.removeprefix("$ ")
                if not text.startswith("python -m compare ") and text != "python -m compare":
                    continue
                command = text.split(" #", 1)[0].split(" && ", 1)[0].split(" | ", 1)[0]
                argv = shlex.split(command.replace("[", " ").replace("]", " "))[3:]
                yield (f"{rel(path)}, line {line + 1 + offset}",
                       [a.split("|")[0] if not a.startswith("-") else a for a in argv if a != "..."])


def matches(quoted, printed, *, masked=False):
    """None when `quoted` (lines, with `...` for lines left out) is what was `printed`, else the first quoted
    part that is not there. Without `...` the quote is the whole output; with it, each part between `...`
    lines appears in the output in the quote's order. `masked` compares with every figure that is rounding
    (a decimal, an exponent, a number of 3 digits or more, a line number) masked and the spacing ignored."""
    parts, part = [], []
    for line in quoted:
        if line.strip() == "...":
            parts.append(part)
            part = []
        else:
            part.append(line.rstrip())
    parts.append(part)
    whole = len(parts) == 1
    out = "\n".join(line.rstrip() for line in printed)
    parts = ["\n".join(p) for p in parts if p]
    if masked:
        out, parts = _mask(out), [_mask(p) for p in parts]
    if whole:
        return None if parts and parts[0].strip() == out.strip() else (parts[0] if parts else "(an empty quote)")
    sep = " " if masked else "\n"
    out, start = sep + out + sep, 0
    for part in parts:
        found = out.find(sep + part + sep, start)
        if found < 0:
            return part
        start = found + len(part)
    return None


_FIGURE = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d+(?:e[-+]?\d+)?%?|\d+e[-+]?\d+|\d{3,})(?![\w])|(?<=\.py:)\d+")


def _mask(text):
    return " ".join(_FIGURE.sub("#", text).split())
