"""Where each equation lives in the code, read from the source each time explain runs: the lines tagged
`# F1` … `# B6`, the activation's entry in the NumPy backend's table, and the lines that ask autograd for the
gradient in the torch, JAX and tape backends. Nothing here is written by hand: move a line and explain follows."""
import importlib.util
import re
from pathlib import Path

import impls
from compare.equations import FORWARD

ROOT = Path(impls.__file__).resolve().parents[1]
TAG = re.compile(r"#\s*([FB][1-6])\b")  # a line's equation tag: its comment starts with it
# the call that yields the gradients, and the one that yields the intermediates, and the methods they are in
AUTOGRAD_CALLS = {"torch": (("torch.autograd.grad(", "_gradients"), ("torch.autograd.grad(", "_intermediates")),
                  "jax": (("jax.grad(", "_gradients"), ("jax.vjp(", "_intermediates")),
                  "tape": (("tape.backward(", "_backward"), ("tape.backward(", "_backward"))}


def relative(path):
    """`path` relative to the project's root, as explain prints it."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def tagged_lines(path):
    """{"F1": (line number, code), …} for every line of `path` whose comment starts with a tag # F1 … # B6.

    The code includes untagged lines between two tagged ones (B4's dA1 = W2ᵀ dZ2), one per line.
    """
    found, pending = {}, None  # pending: the untagged lines since the last tagged one, None past a break
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        match = TAG.search(line)
        if match and match.group(1) not in found:
            found[match.group(1)] = (number, "\n".join((pending or []) + [line[:match.start()].strip()]))
            pending = []
        elif pending is not None and line.strip() and not line.strip().startswith(("def ", "return ")):
            pending.append(line.strip())
        else:
            pending = None
    return found


def activation_line(path, activation):
    """(line number, code) of `activation`'s entry in the NumPy backend's table of g1 and g1′."""
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip().startswith(f'"{activation}":'):
            return number, line.strip()
    return None, None


def call_lines(path, needle):
    """{name of the enclosing def: first line number} of the lines of `path` that contain `needle`."""
    found, current = {}, None
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        match = re.match(r"\s*def (\w+)", line)
        current = match.group(1) if match else current
        if needle in line:
            found.setdefault(current, number)
    return found


def locate(backend):
    """Where the forward lines and the autograd calls live in the torch, JAX or tape backend, found now:
    {"F1": "file:line: code", …, "grad": "file:line", "inner": "file:line"}."""
    path = Path(importlib.util.find_spec(impls._REGISTRY[backend][0]).origin)
    name = relative(path)
    tags = tagged_lines(path)
    where = {eq.id: f"{name}:{tags[eq.id][0]}: {tags[eq.id][1]}" if eq.id in tags else name for eq in FORWARD}
    for key, (needle, method) in zip(("grad", "inner"), AUTOGRAD_CALLS[backend]):
        line = call_lines(path, needle).get(method)
        where[key] = f"{name}:{line}" if line else name
    return where
