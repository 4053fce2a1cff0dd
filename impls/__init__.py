"""backprop-compare: a network trained by gradient descent, by every backend in BACKENDS: week 3's one hidden
layer, or any depth (week 4).

    >>> import impls
    >>> backend = impls.get_backend("numpy")            # or any other name in impls.BACKENDS
    >>> params = impls.init_params(n_x=2, n_h=4)
    >>> result = backend.train(params, X, Y, learning_rate=1.2, iterations=10000)
    >>> deep = impls.init_deep_params([2, 20, 7, 5, 1], seed=1, scale="sqrt")  # W1, b1, …, W4, b4

Importing this package imports neither torch nor JAX: only the backend asked for is loaded.
"""
import importlib
import importlib.util
import sys

from impls.base import (ACTIVATIONS, DTYPES, GRAD_NAMES, PARAM_NAMES, Backend, TrainingDiverged, TrainResult,
                        cache_names, depth, grad_names, init_deep_params, init_params, intermediate_names,
                        layer_dims, param_names)
from impls.checks import check_choice

__version__ = "0.1.0"  # keep equal to pyproject.toml's (a test checks); model files record it

__all__ = ["ACTIVATIONS", "BACKENDS", "DATA_PARALLEL", "DTYPES", "GRAD_NAMES", "PARAM_NAMES", "Backend",
           "BackendNotInstalled", "ShallowNetClassifier", "TrainResult", "TrainingDiverged",
           "available_backends", "cache_names", "depth", "get_backend", "grad_names", "init_deep_params",
           "init_params", "install_hint", "intermediate_names", "layer_dims", "load_model", "param_names",
           "save_model"]

# Loaded on first use, so that `import impls` stays light: the estimator imports scikit-learn.
_LAZY = {"ShallowNetClassifier": "impls.estimator", "save_model": "impls.io.model_files",
         "load_model": "impls.io.model_files"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if f"impls.{name}" in MOVED:  # impls.datasets without importing it first, as before the move
        return importlib.import_module(f"impls.{name}")
    raise AttributeError(f"module 'impls' has no attribute {name!r}")


# Modules that moved into the sub-packages answer to their old names too (`from impls.datasets import planar`,
# `import impls.numpy_backend`, `MODULE:CLASS` specs): the old name is the same module object, imported on
# first use, so patching one patches the other. One table instead of a stub file per old path.
MOVED = {
    "impls.numpy_backend": "impls.backends.numpy",
    "impls.torch_backend": "impls.backends.torch",
    "impls.jax_backend": "impls.backends.jax",
    "impls.tape_backend": "impls.backends.tape",
    "impls.tape": "impls.backends.tape_engine",
    "impls.torch_ddp_backend": "impls.parallel.torch_ddp",
    "impls.jax_sharded_backend": "impls.parallel.jax_sharded",
    "impls.process_group": "impls.parallel.process_group",
    "impls.datasets": "impls.io.datasets",
    "impls.model_io": "impls.io.model_files",
    "impls.files": "impls.io.files",
}


class _OldNames:
    """The import system's finder and loader for the old names in MOVED."""

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in MOVED else None

    def create_module(self, spec):
        module = importlib.import_module(MOVED[spec.name])
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state  # the import system set the old name's spec: put its own back


if not any(isinstance(finder, _OldNames) for finder in sys.meta_path):
    sys.meta_path.append(_OldNames())

# name -> (module, class, the library it needs, which is also the name of its pip extra)
_REGISTRY = {
    "numpy": ("impls.backends.numpy", "NumpyBackend", "numpy"),
    "torch": ("impls.backends.torch", "TorchBackend", "torch"),
    "jax": ("impls.backends.jax", "JaxBackend", "jax"),
    "tape": ("impls.backends.tape", "TapeBackend", "numpy"),  # this project's own autograd: NumPy only
    "torch-ddp": ("impls.parallel.torch_ddp", "TorchDDPBackend", "torch"),
    "jax-sharded": ("impls.parallel.jax_sharded", "JaxShardedBackend", "jax"),
}
BACKENDS = tuple(_REGISTRY)
DATA_PARALLEL = ("torch-ddp", "jax-sharded")  # the ones that take workers=N


class BackendNotInstalled(ImportError):
    """The library a backend needs is not installed."""


def install_hint(extra):
    """The command that installs an extra as the README does: from the clone, with the pinned versions
    (for torch the CPU build; the bare extra may pull a CUDA build of several GB)."""
    extra = _REGISTRY[extra][2] if extra in _REGISTRY else extra  # a backend's name: the library it needs
    return f'pip install -c constraints.txt -e ".[{extra}]" in the clone'


def available_backends(data_parallel=False):
    """The names of the backends whose library is installed, in the order of BACKENDS; the data-parallel
    ones (DATA_PARALLEL) only with data_parallel=True."""
    return [name for name, (_, _, lib) in _REGISTRY.items()
            if (data_parallel or name not in DATA_PARALLEL) and importlib.util.find_spec(lib)]


def get_backend(name, *, activation="tanh", dtype="float64", device=None, workers=1):
    """A backend by name.

    Args:
        name: "numpy" (hand-written backprop), "torch" (torch.autograd), "jax" (jax.grad), "tape"
            (this project's own reverse-mode engine, impls/backends/tape_engine.py), or the data-parallel "torch-ddp"
            (torch.distributed) and "jax-sharded" (a JAX device mesh).
        activation: hidden layer g1: "tanh", "relu", "sigmoid" or "leaky_relu".
        dtype: "float64" or "float32".
        device: None (the CPU), or "cuda"/"gpu" for torch and JAX.
        workers: processes (torch-ddp) or devices (jax-sharded) the examples are split over; 1 for the others.

    Returns:
        A Backend.

    Raises:
        ValueError: unknown name, activation, dtype or device.
        BackendNotInstalled: the backend's library is missing; the message names the extra.
    """
    module, cls, lib = _REGISTRY[check_choice(name, "backend", BACKENDS)]
    check_choice(activation, "activation", ACTIVATIONS)
    check_choice(dtype, "dtype", DTYPES)
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        if e.name != lib:
            raise
        raise BackendNotInstalled(f"the {name} backend needs {lib}, which is not installed: "
                                  f"{install_hint(lib)}") from None
    return getattr(mod, cls)(activation=activation, dtype=dtype, device=device, workers=workers)
