"""Backend specs for `--backends`: a built-in name, FILE.py:CLASS, MODULE:CLASS or an installed entry point,
each with an optional @DEVICE (`torch@cuda`, `jax@cpu`, `mine.py:Mine@cpu`)."""
import importlib
import importlib.metadata
import importlib.util
import sys
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
    raise ValueError(f"unknown backend {body!r}; choose from {', '.join([*impls.BACKENDS, *installed])}, "
                     "or give FILE.py:CLASS or MODULE:CLASS")


def _load_class(spec):
    """The class a spec names; user code that fails to import is a ValueError naming the spec."""
    try:
        if spec.kind == "entry point":
            cls = entry_points()[spec.target].load()
            if not callable(cls):
                raise ValueError(f"backend {spec.text!r}: its entry point names no class")
            return cls
        if spec.kind == "module":
            module = importlib.import_module(spec.target)
        else:
            path = Path(spec.target)
            if not path.is_file():
                raise ValueError(f"backend {spec.text!r}: no such file {spec.target}")
            name = f"backprop_compare_user_{path.stem}"
            loader = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module  # dataclasses and pickling look the module up by name
            loader.loader.exec_module(module)
    except ValueError:
        raise
    except ModuleNotFoundError as e:
        raise ValueError(f"backend {spec.text!r}: no module named {e.name!r}") from None
    except (Exception, SystemExit) as e:  # noqa: BLE001 - the user's module may raise anything on import
        raise ValueError(f"backend {spec.text!r}: importing it raised {type(e).__name__}: {e}") from None
    cls = getattr(module, spec.cls, None)
    if cls is None:
        raise ValueError(f"backend {spec.text!r}: {spec.target} has no {spec.cls}")
    return cls


def load(spec, *, activation, dtype, device=None, workers=1):
    """The backend a spec names, constructed with activation=, dtype=, device= as the built-ins are.

    Args:
        spec: a Spec from `parse`.
        activation, dtype: as for impls.get_backend.
        device: the device when the spec names none (--device); the numpy backend always runs on the CPU.
        workers: for the built-in data-parallel backends (torch-ddp, jax-sharded); the others run in one process.

    Returns:
        The backend object, its `name` made unique by `name_all`.

    Raises:
        ValueError: the file, module, class or device cannot be had, or the class does not construct.
        impls.BackendNotInstalled: a built-in backend's library is missing.
    """
    if spec.kind == "builtin":
        default = None if spec.target == "numpy" else device
        return impls.get_backend(spec.target, activation=activation, dtype=dtype, device=spec.device or default,
                                 workers=workers if spec.target in impls.DATA_PARALLEL else 1)
    cls = _load_class(spec)
    try:
        return cls(activation=activation, dtype=dtype, device=spec.device or device)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - a user's constructor may raise anything
        raise ValueError(f"backend {spec.text!r} does not construct with activation={activation!r}, "
                         f"dtype={dtype!r}, device={spec.device or device!r}: {type(e).__name__}: {e}") from None


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
