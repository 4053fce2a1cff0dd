"""Model files: round trips across backends, refusal of pickles and damaged files, atomic saves, the CLI."""
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import impls
from compare.cli import main
from compare.numerics import rel_error
from compare.tolerances import BACKEND_RTOL
from conftest import make_backend, run_compare
from impls.io.datasets import load_dataset
from impls.io.model_files import FORMAT, FORMAT_VERSION, load_model, save_model

CONFIG = {"backend": "numpy", "activation": "tanh", "dtype": "float64"}


def trained(name, activation="tanh", dtype="float64"):
    X, Y = load_dataset("moons")
    backend = make_backend(name, activation=activation, dtype=dtype)
    params = impls.init_params(2, 5, seed=3, dtype=dtype)
    return backend, backend.train(params, X, Y, learning_rate=1.0, iterations=300).params, X


@pytest.mark.parametrize("dtype", impls.DTYPES)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_a_model_from_any_backend_predicts_identically_in_every_other(backend_name, activation, dtype, tmp_path):
    backend, params, X = trained(backend_name, activation, dtype)
    path = tmp_path / "model.npz"
    save_model(path, params, {"backend": backend_name, "activation": activation, "dtype": dtype, "lr": 1.0})
    loaded, config = load_model(path)
    for k in impls.PARAM_NAMES:  # bit for bit, in the model's dtype
        assert loaded[k].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(loaded[k], params[k])
    assert config == {"backend": backend_name, "activation": activation, "dtype": dtype, "lr": 1.0,
                      "n_x": 2, "n_h": 5, "n_y": 1, "layer_dims": [2, 5, 1], "format": FORMAT,
                      "format_version": 1, "version": impls.__version__}  # two layers: format 1, read by any version
    expected, proba = backend.predict(params, X), backend.predict_proba(params, X)
    for other in impls.available_backends():
        twin = impls.get_backend(other, activation=config["activation"], dtype=config["dtype"])
        np.testing.assert_array_equal(twin.predict(loaded, X), expected)
        assert rel_error(twin.predict_proba(loaded, X), proba) < BACKEND_RTOL[dtype]


def test_the_estimators_model_saves_and_predicts_elsewhere(tmp_path):
    from sklearn.datasets import make_moons
    X, y = make_moons(100, noise=0.2, random_state=0)
    clf = impls.ShallowNetClassifier(max_iter=300, random_state=0).fit(X, y)
    save_model(tmp_path / "m.npz", clf.params_, clf.config_)
    params, config = load_model(tmp_path / "m.npz")
    for other in impls.available_backends():
        labels = impls.get_backend(other, activation=config["activation"]).predict(params, X.T)[0]
        np.testing.assert_array_equal(clf.classes_[labels], clf.predict(X))


def test_a_loaded_config_saves_again_and_keeps_its_settings(tmp_path):
    params = impls.init_params(3, 2, 2, seed=1)
    save_model(tmp_path / "a.npz", params, {**CONFIG, "dataset": "planar", "seed": np.int64(4)})
    again, config = load_model(tmp_path / "a.npz")
    assert config["seed"] == 4 and config["dataset"] == "planar" and config["n_y"] == 2
    save_model(tmp_path / "b.npz", again, config)
    assert load_model(tmp_path / "b.npz")[1] == config


def test_the_file_is_plain_npz_without_pickles(tmp_path):
    save_model(tmp_path / "m.npz", impls.init_params(2, 4), CONFIG)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["W1", "W2", "b1", "b2", "config"]
        assert data["config"].dtype.kind == "U" and all(data[k].dtype == np.float64 for k in impls.PARAM_NAMES)


def test_an_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    good = impls.init_params(2, 4, seed=1)
    save_model(path, good, CONFIG)
    before = path.read_bytes()

    def savez_that_dies(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", savez_that_dies)
    with pytest.raises(OSError, match="No space left"):
        save_model(path, impls.init_params(2, 4, seed=2), CONFIG)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # and no temporary file left behind
    np.testing.assert_array_equal(load_model(path)[0]["W1"], good["W1"])


def test_a_saved_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        save_model(tmp_path / "m.npz", impls.init_params(2, 4), CONFIG)
    finally:
        os.umask(umask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644


def _write(path, kind):
    params = impls.init_params(2, 4)
    template = ('{"format": "%s", "format_version": %d, "backend": "numpy", "activation": "tanh", '
                '"dtype": "float64", "n_x": 2, "n_h": 4, "n_y": 1}')
    config = lambda *format_and_version: np.array(template % format_and_version)
    if kind == "pickle":
        path.write_bytes(pickle.dumps(params))
    elif kind == "object array":
        np.savez(path, **{**params, "W1": np.array([[object()]], dtype=object)}, config=config(FORMAT, 1))
    elif kind == "npy":
        with open(path, "wb") as f:  # np.save(path) would add .npy to the name
            np.save(f, params["W1"])
    elif kind == "text":
        path.write_text("W1,b1\n1,2\n")
    elif kind == "truncated":
        save_model(path, params, CONFIG)
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "no config":
        np.savez(path, **params)
    elif kind == "other format":
        np.savez(path, **params, config=config("something else", 1))
    elif kind == "newer format":
        np.savez(path, **params, config=config(FORMAT, FORMAT_VERSION + 1))
    elif kind == "config not JSON":
        np.savez(path, **params, config=np.array("{not json"))
    elif kind == "NaN weight":
        np.savez(path, **{**params, "W2": np.full((1, 4), np.nan)}, config=config(FORMAT, 1))
    elif kind == "wrong shape":
        np.savez(path, **{**params, "W1": np.ones((4, 3))}, config=config(FORMAT, 1))
    elif kind == "integer weights":
        np.savez(path, **{**params, "b1": np.zeros((4, 1), dtype=int)}, config=config(FORMAT, 1))
    elif kind == "unknown activation":
        np.savez(path, **params, config=np.array((template % (FORMAT, 1)).replace("tanh", "swish")))
    elif kind == "folder":
        path.mkdir()


@pytest.mark.parametrize("kind, match", [
    ("pickle", "is a pickle; refused, since loading a pickle can run arbitrary code"),
    ("object array", r"holds object arrays \(pickled Python objects\); refused"),
    ("npy", "is a single .npy array, not a model file"),
    ("text", r"is not a model file \(a .npz written by save_model\)"),
    ("truncated", "is damaged or incomplete"),
    ("no config", r"is not a model file \(config missing\)"),
    ("other format", "is not a backprop-compare model file"),
    ("newer format", "was written by a newer backprop-compare .* upgrade to load it"),
    ("config not JSON", r"is damaged \(config: "),
    ("NaN weight", "W2 contains NaN or infinite values"),
    ("wrong shape", r"W1 has shape \(4, 3\), expected \(4, 2\)"),
    ("integer weights", "b1 is stored as int64, not as floating point numbers"),
    ("unknown activation", "unknown activation 'swish'"),
    ("folder", "is a folder, not a model file"),
    ("missing", "no such file"),
])
def test_bad_model_files_are_refused_with_a_clear_error(tmp_path, kind, match):
    path = tmp_path / "model.npz"
    _write(path, kind)
    with pytest.raises(ValueError, match=match):
        load_model(path)


@pytest.mark.parametrize("params, config, match", [
    (None, {"backend": "numpy", "dtype": "float64"}, "config needs 'activation'"),
    (None, {**CONFIG, "backend": "tensorflow"}, "unknown backend 'tensorflow'"),
    (None, {**CONFIG, "lr": float("nan")}, "config must hold only finite numbers"),
    (None, {**CONFIG, "data": object()}, "config must hold only finite numbers, strings, lists and dicts"),
    (None, {**CONFIG, "n_h": 5}, "config says n_h=5, but the parameters have n_h=4"),
    (None, "tanh", "config must be a dict, got str"),
    ({"W1": np.ones((4, 2))}, CONFIG, "params must be a dict with keys W1, b1: b1 missing"),  # one layer, b1 lost
    ({**impls.init_params(2, 4), "W3": np.ones((1, 1))}, CONFIG, "keys W1, b1, W2, b2, W3, b3: b3 missing"),
    ({**impls.init_params(2, 4), "b2": np.ones((2, 1))}, CONFIG, r"b2 has shape \(2, 1\), expected \(1, 1\)"),
    ({**impls.init_params(2, 4), "W1": np.full((4, 2), np.inf)}, CONFIG, "W1 contains NaN or infinite values"),
])
def test_bad_params_or_config_are_refused_before_writing(tmp_path, params, config, match):
    with pytest.raises(ValueError, match=match):
        save_model(tmp_path / "m.npz", impls.init_params(2, 4) if params is None else params, config)
    assert os.listdir(tmp_path) == []


def test_saving_into_a_missing_folder_or_onto_a_folder(tmp_path):
    with pytest.raises(ValueError, match="folder .*missing does not exist"):
        save_model(tmp_path / "missing" / "m.npz", impls.init_params(2, 4), CONFIG)
    with pytest.raises(ValueError, match="is a folder"):
        save_model(tmp_path, impls.init_params(2, 4), CONFIG)


def test_version_matches_the_package_metadata():
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert impls.__version__ == pyproject["project"]["version"]


# The command line


def run(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    return run_compare(*args, cwd=cwd, env=env)


@pytest.mark.slow
def test_train_save_then_predict_in_every_backend(tmp_path):
    out = run("train", "--iterations", "1500", "--hidden", "5", "--save", "model.npz", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    accuracy = next(l for l in out.stdout.splitlines() if l.startswith("Training accuracy")).split()[-1]
    assert out.stdout.splitlines()[-1] == "Model saved to model.npz"
    _, config = load_model(tmp_path / "model.npz")
    assert config["dataset"] == "planar" and config["iterations"] == 1500 and config["n_h"] == 5
    for name in impls.available_backends():  # the model remembers its data set
        out = run("predict", "--model", "model.npz", "--backend", name, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert f"Accuracy: {accuracy} (" in out.stdout, out.stdout
    out = run("predict", "--model", "model.npz", "--dataset", "planar", "--out", "preds.csv", cwd=tmp_path)
    assert out.returncode == 0 and "Predictions written to preds.csv" in out.stdout
    rows = (tmp_path / "preds.csv").read_text().splitlines()
    assert rows[0] == "prediction,probability" and len(rows) == 401
    params, _ = load_model(tmp_path / "model.npz")
    X, _ = load_dataset("planar")
    proba = impls.get_backend("numpy").predict_proba(params, X)[0]
    np.testing.assert_array_equal([float(r.split(",")[1]) for r in rows[1:]], proba)  # repr: exact
    assert [int(r.split(",")[0]) for r in rows[1:]] == (proba > 0.5).astype(int).tolist()


@pytest.mark.slow
def test_predict_on_an_unlabelled_csv(tmp_path):
    save_model(tmp_path / "m.npz", impls.init_params(2, 4, scale=1.0), CONFIG)
    (tmp_path / "new.csv").write_text("x1,x2\n0.5,1\n-2,3\n1,-1\n")
    assert main(["predict", "--model", str(tmp_path / "m.npz"), "--dataset", str(tmp_path / "new.csv"),
                 "--out", str(tmp_path / "p.csv")]) == 0
    params, _ = load_model(tmp_path / "m.npz")
    expected = impls.get_backend("numpy").predict(params, np.array([[0.5, -2, 1], [1, 3, -1]]))[0]
    assert [int(r.split(",")[0]) for r in (tmp_path / "p.csv").read_text().splitlines()[1:]] == expected.tolist()


@pytest.mark.parametrize("args, message", [
    (["predict"], "the following arguments are required: --model"),
    (["predict", "--model", "missing.npz"], "missing.npz: no such file"),
    (["predict", "--model", "pickle.npz"], "is a pickle; refused"),
    (["predict", "--model", "m.npz", "--dataset", "breast_cancer"],
     "dataset breast_cancer has 30 features; the model takes 2"),
    (["predict", "--model", "m.npz", "--dataset", "three.csv"],
     "has 4 columns; expected 2 features, optionally followed by a 0/1 label"),
    (["predict", "--model", "m.npz", "--out", "no/such/p.csv"], "folder no/such does not exist"),
    (["predict", "--model", "m.npz", "--backend", "tf"], "argument --backend: invalid choice: 'tf'"),
    (["predict", "--model", "bare.npz"], "does not name the data it was trained on; give --dataset"),
    (["train", "--iterations", "1", "--save", "no/such/m.npz"], "folder no/such does not exist"),
])
@pytest.mark.slow
def test_model_usage_errors_exit_2_with_one_line(tmp_path, args, message):
    params = impls.init_params(2, 4)
    save_model(tmp_path / "m.npz", params, {**CONFIG, "dataset": "planar"})
    save_model(tmp_path / "bare.npz", params, CONFIG)
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps(params))
    (tmp_path / "three.csv").write_text("a,b,c,y\n1,2,3,0\n")
    out = run(*args, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert not (tmp_path / "no").exists()
