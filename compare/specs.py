"""Backend specs for `--backends`: a built-in name, FILE.py:CLASS, MODULE:CLASS or an installed entry point,
each with an optional @DEVICE (`torch@cuda`, `jax@cpu`, `mine.py:Mine@cpu`)."""
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import impls

ENTRY_POINT_GROUP = "backprop_compare.backends"


@dataclass(frozen=True)
class Spec:
    text: str           # as the user wrote it, for messages
    kind: str           # "builtin", "file", "module" or "entry point"
    target: str         # the backend name, file path, module name or entry point name
    cls: str | None     # the class, for "file" and "module"
    device: str | None


def entry_points():
    """name -> EntryPoint of the backends installed packages register."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def parse(text):
    """The specs of a comma-separated list; a ValueError names the first one that cannot be a backend."""
    specs = [parse_one(t.strip()) for t in text.split(",") if t.strip()]
    if not specs:
        raise ValueError(f"no backend named in {text!r}")
    return specs


def parse_one(text):
    body, device = text, None
    if "@" in text.rpartition(":")[2].rpartition("/")[2]:  # an @ in a folder name is part of the path
        body, _, device = text.rpartition("@")
        if not device or not body:
            raise ValueError(f"backend {text!r}: give a device after @ (torch@cuda) or none")
    if ":" in body:
        target, _, cls = body.rpartition(":")
        if not target or not cls.isidentifier():
            raise ValueError(f"backend {text!r}: expected FILE.py:CLASS or MODULE:CLASS")
        kind = "file" if target.endswith(".py") or "/" in target or "\\" in target else "module"
        return Spec(text, kind, target, cls, device)
    if body in impls.BACKENDS:
        return Spec(text, "builtin", body, None, device)
    installed = entry_points()
    if body in installed:
        return Spec(text, "entry point", body, None, device)
    if body.endswith(".py") or Path(body).is_file():
        if not Path(body).is_file():
            raise ValueError(f"backend {text!r}: no such file {body}; give FILE.py:CLASS")
        found = classes_in(body)
        raise ValueError(f"backend {text!r}: name the class as {body}:CLASS; "
                         + (f"{body} defines {', '.join(found)}" if found else f"{body} defines no class"))
    raise ValueError(f"unknown backend {body!r}; choose from {', '.join([*impls.BACKENDS, *installed])}, "
                     "or give FILE.py:CLASS or MODULE:CLASS")


def classes_in(path):
    """The names of the classes a Python file defines at its top level, read without running it."""
    import ast
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return []
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)]


def load(spec, *, activation, dtype, device=None, workers=1, timeout=None):
    """The backend a spec names, constructed with activation=, dtype=, device= as the built-ins are.

    A built-in backend runs in this process; a user's class (a file, a module, an entry point) in a process
    of its own, behind a compare.isolated.IsolatedBackend: nothing it does there reaches this process.

    Args:
        spec: a Spec from `parse`.
        activation, dtype: as for impls.get_backend.
        device: the device when the spec names none (--device); the numpy backend always runs on the CPU.
        workers: for the built-in data-parallel backends (torch-ddp, jax-sharded); the others run in one process.
        timeout: CPU seconds each call of a user's class may take (default compare.isolated.TIMEOUT).

    Returns:
        The backend object, its `name` made unique by `name_all`; close() a user's when done.

    Raises:
        ValueError: the file, module, class or device cannot be had, or the class does not construct.
        impls.BackendNotInstalled: a built-in backend's library is missing.
    """
    if spec.kind == "builtin":
        default = None if spec.target == "numpy" else device
        return impls.get_backend(spec.target, activation=activation, dtype=dtype, device=spec.device or default,
                                 workers=workers if spec.target in impls.DATA_PARALLEL else 1)
    if spec.kind == "file" and not Path(spec.target).is_file():
        raise ValueError(f"backend {spec.text!r}: no such file {spec.target}")
    from compare.isolated import TIMEOUT, IsolatedBackend
    return IsolatedBackend(spec, activation=activation, dtype=dtype, device=device,
                           timeout=TIMEOUT if timeout is None else timeout)


def close_all(backends):
    """Stop the processes of the users' backends among `backends`."""
    for b in backends:
        if callable(getattr(b, "close", None)) and type(b).__name__ == "IsolatedBackend":
            b.close()


def name_all(specs, backends):
    """Give every backend a name unique in the report: its own name, then name@device, then the spec."""
    names = [getattr(b, "name", None) or type(b).__name__ for b in backends]
    for i, (spec, b) in enumerate(zip(specs, backends)):
        if names.count(names[i]) > 1 and spec.device:
            names[i] = f"{names[i]}@{spec.device}"
    for i, spec in enumerate(specs):
        if names.count(names[i]) > 1:
            names[i] = spec.text
    if len(set(names)) != len(names):
        raise ValueError(f"a backend is named twice in {','.join(s.text for s in specs)!r}")
    for name, b in zip(names, backends):
        if getattr(b, "name", None) != name:
            try:
                b.name = name
            except AttributeError:
                raise ValueError(f"backend {name!r}: its name cannot be set to tell it apart") from None
    return backends
