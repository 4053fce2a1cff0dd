"""The files a `check` command grades: each file named, and the notebooks and .py files of each folder named,
each once; whatever is passed over is said, with why. A submission never imports another: each is graded
with only its own folder's other files importable."""
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .course import COURSE_FILES
from .notebook import SUFFIXES


@dataclass
class Submission:
    """A file to grade, or one named that cannot be (`.problem` says why: it is an ERROR line)."""

    path: Path
    problem: str = ""


def kind(path):
    """'file', or what else `path` is: 'missing', 'a folder', 'a FIFO', 'a link to nothing', ..."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "a link to nothing" if os.path.islink(path) else "missing"
    except OSError as e:
        return f"unreadable ({e.strerror})"
    mode = info.st_mode
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"


def not_gradable(path):
    """Why a file named on the command line cannot be graded, or "" if it can."""
    what = kind(path)
    if what == "missing":
        return "no such file"
    if what != "file":
        return f"is {what}, not a file"
    if Path(path).suffix not in SUFFIXES:
        return "is not a .py file or a .ipynb notebook"
    return ""


def collect(paths):
    """(submissions, notes): what to grade, in the order named (a folder's files sorted), each once, and one
    line for each thing passed over.

    Raises:
        ValueError: a folder named holds nothing to grade.
    """
    found, notes = [], []
    for path in map(Path, paths):
        if kind(path) != "a folder":
            found.append(Submission(path, not_gradable(path)))
            continue
        files = []
        for entry in sorted(path.iterdir(), key=lambda p: p.name):
            if entry.suffix not in SUFFIXES:
                continue
            what = kind(entry)
            if what != "file":
                notes.append(f"skipped {entry}: it is {what}, not a file")
            elif entry.name.startswith("."):
                notes.append(f"skipped {entry}: a hidden file")
            elif entry.suffix == ".py" and entry.stem in COURSE_FILES:
                notes.append(f"skipped {entry}: the course's {entry.name}, which the others may import")
            else:
                files.append(Submission(entry))
        if not files:
            raise ValueError(f"{path}: a folder with no .py or .ipynb files to grade")
        found += files
    return _once(found, notes)


def _once(found, notes):
    """Each file graded once, however many names it was given (a link, a folder and the file itself)."""
    kept, seen = [], {}
    for submission in found:
        key = _identity(submission.path) if not submission.problem else None
        if key is not None and key in seen:
            seen[key][1] += 1
            continue
        kept.append(submission)
        if key is not None:
            seen[key] = [submission, 1]
    notes += [f"{s.path} is named {n} times: graded once" for s, n in seen.values() if n > 1]
    return kept, notes


def _identity(path):
    info = os.stat(path)
    return info.st_dev, info.st_ino


def hidden_modules(submission, submissions):
    """The module names in `submission`'s folder that it may not import: the submissions there."""
    folder = Path(submission).resolve().parent
    return sorted({p.stem for p in map(Path, submissions) if p.suffix == ".py" and p.resolve().parent == folder})
