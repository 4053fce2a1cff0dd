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

__all__ = ["ACTIVATIONS", "BACKENDS", "DTYPES", "GRAD_NAMES", "PARAM_NAMES", "Backend",
           "BackendNotInstalled", "ShallowNetClassifier", "TrainResult", "TrainingDiverged",
           "available_backends", "get_backend", "init_params", "load_model", "save_model"]

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
}
BACKENDS = tuple(_REGISTRY)


class BackendNotInstalled(ImportError):
    """The library a backend needs is not installed."""


def available_backends():
    """The names of the backends whose library is installed, in the order numpy, torch, jax, tape."""
    return [name for name, (_, _, lib) in _REGISTRY.items() if importlib.util.find_spec(lib)]


def get_backend(name, *, activation="tanh", dtype="float64", device=None):
    """A backend by name.

    Args:
        name: "numpy" (hand-written backprop), "torch" (torch.autograd), "jax" (jax.grad) or
            "tape" (this project's own reverse-mode engine, impls/tape.py).
        activation: hidden layer g1: "tanh", "relu", "sigmoid" or "leaky_relu".
        dtype: "float64" or "float32".
        device: None (the CPU), or "cuda"/"gpu" for torch and JAX.

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
                                  f"pip install 'backprop-compare[{name}]'") from None
    return getattr(mod, cls)(activation=activation, dtype=dtype, device=device)
