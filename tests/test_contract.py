"""The contract: one interface in every backend, chosen by name, inputs never modified."""
import importlib
import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import impls
from conftest import make_backend, nondegenerate_problem, run_process

HOOKS = ("_asarray", "_numpy", "_forward", "_cost", "_gradients", "_intermediates", "_train")
# the same, for networks of any other depth than two layers (Backend._hook picks by the parameters)
DEEP_HOOKS = ("_deep_forward", "_deep_cost", "_deep_gradients", "_deep_intermediates", "_deep_train")


def _public_methods(cls):
    return {n: inspect.signature(f) for n, f in inspect.getmembers(cls, callable) if not n.startswith("_")}


def test_backends_have_identical_interface():
    classes = [type(make_backend(name)) for name in impls.BACKENDS]
    reference = _public_methods(classes[0])
    assert {"forward", "cost", "gradients", "intermediates", "train", "predict_proba", "predict"} <= set(reference)
    for cls in classes:
        assert _public_methods(cls) == reference, cls.__name__
        # each backend writes its own forward pass and gradient, with the same signatures
        for hook in HOOKS + DEEP_HOOKS:
            assert hook in vars(cls), f"{cls.__name__} does not define {hook}"
            assert inspect.signature(getattr(cls, hook)) == inspect.signature(getattr(classes[0], hook))
        assert inspect.signature(cls.__init__) == inspect.signature(classes[0].__init__)
    assert [make_backend(n).name for n in impls.BACKENDS] == list(impls.BACKENDS)


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "tensorflow"}, "unknown backend 'tensorflow'; choose one of: numpy, torch, jax, tape"),
    ({"name": "numpy", "activation": "swish"},
     "unknown activation 'swish'; choose one of: tanh, relu, sigmoid, leaky_relu"),
    ({"name": "numpy", "dtype": "float16"}, "unknown dtype 'float16'; choose one of: float64, float32"),
    ({"name": "numpy", "device": "cuda"}, "CPU only"),
])
def test_bad_backend_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        impls.get_backend(**kwargs)


@pytest.mark.parametrize("name", ["torch", "jax"])
def test_missing_gpu_or_unknown_device_is_a_clear_error(name):
    pytest.importorskip(name)
    with pytest.raises(ValueError, match="device"):
        impls.get_backend(name, device="tpu-or-nothing")
    if name == "torch":
        import torch
        if torch.cuda.is_available():
            pytest.skip("a CUDA GPU is present")
        with pytest.raises(ValueError, match="no CUDA GPU"):
            impls.get_backend("torch", device="cuda")
    else:
        import jax
        if any(d.platform == "gpu" for d in jax.devices()):
            pytest.skip("a GPU is present")
        with pytest.raises(ValueError, match="finds no GPU"):
            impls.get_backend("jax", device="gpu")


def test_importing_impls_imports_no_framework():
    code = "import sys, impls, impls.io.datasets; print(sorted({'torch', 'jax'} & set(sys.modules)))"
    out = run_process([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_modules_that_moved_answer_to_their_old_names():
    # `from impls.numpy_backend import NumpyBackend`, written before impls/ had sub-packages, still works,
    # and the old name is the very module: a patch through one is a patch of the other.
    for old, new in impls.MOVED.items():
        try:
            module = importlib.import_module(new)
        except ImportError as e:
            if e.name in ("torch", "jax"):
                continue  # that framework is not installed
            raise
        assert importlib.import_module(old) is module, old
        assert module.__name__ == module.__spec__.name == new  # its own spec: reload and find_spec work
    from impls.numpy_backend import NumpyBackend
    assert NumpyBackend is impls.get_backend("numpy").__class__
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("impls.no_such_module")


def test_nothing_in_the_project_goes_through_the_old_names():
    """The old names are for code written before the move (above); the project's own code, tests, notebooks and
    docs name the modules where they live now."""
    root = Path(__file__).resolve().parents[1]
    old = re.compile(r"\bimpls[./](%s)\b" % "|".join(name.split(".", 1)[1] for name in impls.MOVED))
    files = [root / "README.md", root / "pyproject.toml"] + [
        path for folder in ("compare", "impls", "tests", "notebooks", "docs") for path in (root / folder).rglob("*")
        if path.suffix in (".py", ".ipynb", ".md", ".toml") and path not in (Path(__file__).resolve(),
                                                                               root / "impls" / "__init__.py")]
    uses = [f"{path.relative_to(root)}:{i}" for path in files if path.is_file()
            for i, line in enumerate(path.read_text(errors="replace").splitlines(), 1) if old.search(line)]
    assert uses == []


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_missing_library_names_the_extra_and_numpy_still_works(monkeypatch, library):
    monkeypatch.setitem(sys.modules, library, None)  # makes `import library` fail
    monkeypatch.delitem(sys.modules, impls._REGISTRY[library][0], raising=False)
    with pytest.raises(impls.BackendNotInstalled, match=re.escape(f'pip install -c constraints.txt -e ".[{library}]"')):
        impls.get_backend(library)
    assert library not in impls.available_backends()
    assert "numpy" in impls.available_backends()
    X, Y, params = nondegenerate_problem(2, 3, 1, 5)
    assert np.isfinite(impls.get_backend("numpy").cost(params, X, Y))


def test_init_params_shapes_zero_biases_and_course_seed():
    p = impls.init_params(2, 4, 3, seed=2)
    assert {k: v.shape for k, v in p.items()} == {"W1": (4, 2), "b1": (4, 1), "W2": (3, 4), "b2": (3, 1)}
    assert not p["b1"].any() and not p["b2"].any()
    # the course notebook: np.random.seed(2); W1 = randn(n_h, n_x) * 0.01; W2 = randn(n_y, n_h) * 0.01
    rng = np.random.RandomState(2)
    np.testing.assert_array_equal(p["W1"], rng.randn(4, 2) * 0.01)
    np.testing.assert_array_equal(p["W2"], rng.randn(3, 4) * 0.01)
    assert impls.init_params(2, 4, dtype="float32")["W1"].dtype == np.float32
    assert not impls.init_params(2, 4, scale=0)["W1"].any()
    with pytest.raises(ValueError, match="n_h must be a whole number >= 1"):
        impls.init_params(2, 0)


def test_inputs_are_never_modified(backend_name):
    backend = make_backend(backend_name)
    X, Y, params = nondegenerate_problem(3, 4, 2, 9)
    copies = [X.copy(), Y.copy(), {k: v.copy() for k, v in params.items()}]
    backend.gradients(params, X, Y)
    backend.intermediates(params, X, Y)
    result = backend.train(params, X, Y, learning_rate=0.5, iterations=20)
    np.testing.assert_array_equal(X, copies[0])
    np.testing.assert_array_equal(Y, copies[1])
    for k in params:
        np.testing.assert_array_equal(params[k], copies[2][k])
        assert not np.array_equal(result.params[k], params[k])


def test_accepts_a_users_own_dict_of_lists(backend_name):
    backend = make_backend(backend_name)
    X, Y, params = nondegenerate_problem(2, 3, 1, 6)
    as_lists = {k: v.tolist() for k, v in params.items()}
    assert backend.cost(as_lists, X.tolist(), Y.tolist()) == pytest.approx(backend.cost(params, X, Y), rel=1e-15)


@pytest.mark.parametrize("change, match", [
    (lambda X, Y, p: (X, Y[:, :-1], p), "X has 6 examples .columns. but Y has 5"),
    (lambda X, Y, p: (X.T, Y, p), "X has 2 examples .columns. but Y has 6"),
    (lambda X, Y, p: (X, Y.ravel(), p), r"Y must be 2-D .* got shape \(6,\)"),
    (lambda X, Y, p: (X, Y * 2, p), "Y must hold 0/1 labels, found"),
    (lambda X, Y, p: (np.where(X > 0, np.nan, X), Y, p), "X contains NaN or infinite values"),
    (lambda X, Y, p: (X, Y, {**p, "b1": p["b1"].ravel()}), r"b1 must be 2-D"),
    (lambda X, Y, p: (X, Y, {**p, "W1": p["W1"][:, :1]}), r"W1 has shape \(3, 1\), expected \(3, 2\)"),
    (lambda X, Y, p: (X, Y, {k: v for k, v in p.items() if k != "b2"}),
     "params must be a dict with keys W1, b1, W2, b2"),
    (lambda X, Y, p: (X, Y, {**p, "W2": [["a", "b", "c"]]}), "W2 must be an array of numbers"),
])
def test_bad_input_is_a_value_error_naming_the_problem(backend_name, change, match):
    X, Y, params = nondegenerate_problem(4, 3, 1, 6)
    X = X[:2]
    params["W1"] = params["W1"][:, :2]
    X, Y, params = change(X, Y, params)
    backend = make_backend(backend_name)
    with pytest.raises(ValueError, match=match):
        backend.gradients(params, X, Y)


@pytest.mark.parametrize("kwargs, match", [
    ({"learning_rate": 0}, "learning_rate must be a finite number > 0"),
    ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0"),
    ({"iterations": -1}, "iterations must be a whole number >= 0"),
    ({"iterations": 2.5}, "iterations must be a whole number >= 0"),
    ({"record_every": 0}, "record_every must be a whole number >= 1"),
])
def test_bad_training_settings(backend_name, kwargs, match):
    X, Y, params = nondegenerate_problem(2, 3, 1, 6)
    settings = {"learning_rate": 0.1, "iterations": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_backend(backend_name).train(params, X, Y, **settings)


def test_read_only_inputs_work_without_warnings(backend_name, recwarn):
    X, Y, params = nondegenerate_problem(3, 4, 2, 9)
    for a in (X, Y, *params.values()):
        a.setflags(write=False)  # as a memmap or an array JAX returned
    backend = make_backend(backend_name)
    backend.gradients(params, X, Y)
    backend.train(params, X, Y, learning_rate=0.5, iterations=3)
    assert not [w for w in recwarn if "writable" in str(w.message)]
