"""backprop-compare: one hidden layer network trained by gradient descent, four ways.

    >>> import impls
    >>> backend = impls.get_backend("numpy")            # or "torch", "jax", "tape"
    >>> params = impls.init_params(n_x=2, n_h=4)
    >>> result = backend.train(params, X, Y, learning_rate=1.2, iterations=10000)

Importing this package imports neither torch nor JAX: only the backend asked for is loaded.
"""
import importlib
import importlib.util

from impls.base import (ACTIVATIONS, DTYPES, GRAD_NAMES, PARAM_NAMES, Backend, TrainingDiverged,
                        TrainResult, check_choice, init_params)

__version__ = "0.1.0"  # keep equal to pyproject.toml's (a test checks); model files record it

__all__ = ["ACTIVATIONS", "BACKENDS", "DATA_PARALLEL", "DTYPES", "GRAD_NAMES", "PARAM_NAMES", "Backend",
           "BackendNotInstalled", "ShallowNetClassifier", "TrainResult", "TrainingDiverged",
           "available_backends", "get_backend", "init_params", "install_hint", "load_model", "save_model"]

# Loaded on first use, so that `import impls` stays light: the estimator imports scikit-learn.
_LAZY = {"ShallowNetClassifier": "impls.estimator", "save_model": "impls.model_io",
         "load_model": "impls.model_io"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'impls' has no attribute {name!r}")

# name -> (module, class, the library it needs, which is also the name of its pip extra)
_REGISTRY = {
    "numpy": ("impls.numpy_backend", "NumpyBackend", "numpy"),
    "torch": ("impls.torch_backend", "TorchBackend", "torch"),
    "jax": ("impls.jax_backend", "JaxBackend", "jax"),
    "tape": ("impls.tape_backend", "TapeBackend", "numpy"),  # this project's own autograd: NumPy only
    "torch-ddp": ("impls.torch_ddp_backend", "TorchDDPBackend", "torch"),
    "jax-sharded": ("impls.jax_sharded_backend", "JaxShardedBackend", "jax"),
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
    """The names of the backends whose library is installed, in the order numpy, torch, jax, tape; with
    data_parallel=True also torch-ddp and jax-sharded after them."""
    return [name for name, (_, _, lib) in _REGISTRY.items()
            if (data_parallel or name not in DATA_PARALLEL) and importlib.util.find_spec(lib)]


def get_backend(name, *, activation="tanh", dtype="float64", device=None, workers=1):
    """A backend by name.

    Args:
        name: "numpy" (hand-written backprop), "torch" (torch.autograd), "jax" (jax.grad), "tape"
            (this project's own reverse-mode engine, impls/tape.py), or the data-parallel "torch-ddp"
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
