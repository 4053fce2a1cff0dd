"""The deep network from the command line (--hidden 20,7,5, --init-scale) and in model files (any depth)."""
import json

import numpy as np
import pytest

import impls
from compare.cli import main
from compare.numerics import rel_error
from compare.tolerances import BACKEND_RTOL
from conftest import DEEP_DIMS, deep_problem
from impls.io.model_files import FORMAT, load_model, save_model

CONFIG = {"backend": "numpy", "activation": "relu", "dtype": "float64"}


def run(capsys, *args):
    """(exit status, stdout, stderr) of the command line in this process; argparse's refusals exit."""
    try:
        status = main(list(args))
    except SystemExit as e:
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


def test_train_a_deep_network_on_the_stand_in_with_the_courses_defaults(capsys, tmp_path):
    status, out, err = run(capsys, "train", "--hidden", "20,7,5", "--activation", "relu", "--dataset", "digits",
                           "--iterations", "60", "--print-every", "20", "--save", str(tmp_path / "m.npz"))
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == ("Training the numpy backend (relu, float64) on digits: X (64, 1437), layer_dims "
                        "[64, 20, 7, 5, 1], init sqrt, learning rate 0.0075, 60 iterations")
    assert [line.split(":")[0] for line in lines[1:4]] == [f"Cost after iteration {i}" for i in (0, 20, 40)]
    params, config = load_model(tmp_path / "m.npz")
    assert config["layer_dims"] == [64, 20, 7, 5, 1] and config["init_scale"] == "sqrt"
    assert config["format_version"] == 2 and "n_h" not in config and config["learning_rate"] == 0.0075
    start = impls.init_deep_params([64, 20, 7, 5, 1], seed=0, scale="sqrt")
    trained = impls.get_backend("numpy", activation="relu").train(start, *impls.io.datasets.load_dataset("digits"),
                                                                  learning_rate=0.0075, iterations=60)
    for k in params:
        np.testing.assert_array_equal(params[k], trained.params[k])
    status, out, err = run(capsys, "predict", "--model", str(tmp_path / "m.npz"), "--dataset", "digits-test")
    assert status == 0, err
    assert "on digits-test: 360 examples" in out and "layer_dims [64, 20, 7, 5, 1], relu, float64)" in out


def test_one_hidden_layer_stays_week_3s_network(capsys, tmp_path):
    status, out, _ = run(capsys, "train", "--hidden", "4", "--iterations", "10", "--save", str(tmp_path / "m.npz"))
    assert status == 0
    assert "X (2, 400), n_h=4, learning rate 1.2, 10 iterations" in out
    params, config = load_model(tmp_path / "m.npz")
    assert config["format_version"] == 1 and config["n_h"] == 4 and config["init_scale"] == 0.01
    expected = impls.get_backend("numpy").train(impls.init_params(2, 4), *impls.io.datasets.load_dataset("planar"),
                                                learning_rate=1.2, iterations=10).params
    for k in params:
        np.testing.assert_array_equal(params[k], expected[k])
    status, out, _ = run(capsys, "train", "--hidden", "4", "--init-scale", "sqrt", "--iterations", "0",
                         "--lr", "0.5", "--save", str(tmp_path / "s.npz"))
    assert status == 0 and "n_h=4, init sqrt, learning rate 0.5" in out
    np.testing.assert_array_equal(load_model(tmp_path / "s.npz")[0]["W1"],
                                  impls.init_deep_params([2, 4, 1], 0, "sqrt")["W1"])


@pytest.mark.parametrize("args, message", [
    (["train", "--hidden", "20,,5"], "argument --hidden: '20,,5': each hidden layer's size must be a whole number "
                                     ">= 1, separated by commas as in 20,7,5 (not '')"),
    (["train", "--hidden", "20,9223372036854775808"], "argument --hidden: '9223372036854775808' must be <= "
                                                      "9223372036854775807"),
    (["train", "--hidden", "20,0"], "(not '0')"),
    (["train", "--hidden", "7;5"], "(not '7;5')"),
    (["train", "--init-scale", "cube"], "argument --init-scale: 'cube' is neither a number >= 0 nor sqrt"),
    (["train", "--init-scale", "-1"], "argument --init-scale: '-1' is neither a number >= 0 nor sqrt"),
    (["run", "--hidden", "20,0"], "(not '0')"),
])
def test_deep_flags_errors_are_one_line_exit_2(capsys, args, message):
    status, out, err = run(capsys, *args)
    assert status == 2 and message in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("L", [1, 3, 4])
def test_a_deep_model_saves_and_predicts_identically_in_every_backend(tmp_path, L):
    X, Y, params = deep_problem(DEEP_DIMS[L][:-1] + [1], 12)
    path = tmp_path / "deep.npz"
    written = save_model(path, params, {**CONFIG, "init_scale": "sqrt"})
    loaded, config = load_model(path)
    assert written == config and config["layer_dims"] == DEEP_DIMS[L][:-1] + [1]
    assert config["format_version"] == 2 and config["init_scale"] == "sqrt"
    assert list(loaded) == list(impls.param_names(L))
    for k in params:
        np.testing.assert_array_equal(loaded[k], params[k])
    proba = impls.get_backend("numpy", activation="relu").predict_proba(params, X)
    for name in impls.available_backends():
        assert rel_error(impls.get_backend(name, activation="relu").predict_proba(loaded, X), proba) < \
            BACKEND_RTOL["float64"], name


def deep_file(path, config_changes=None, **arrays):
    params = impls.init_deep_params([2, 4, 3, 1])
    config = {**CONFIG, "n_x": 2, "n_y": 1, "layer_dims": [2, 4, 3, 1], "format": FORMAT, "format_version": 2,
              **(config_changes or {})}
    np.savez(path, **{**params, **arrays}, config=np.array(json.dumps(config)))


@pytest.mark.parametrize("config, arrays, match", [
    ({"format_version": 1}, {}, r"format 1 holds two layers, but layer_dims is \[2, 4, 3, 1\]"),
    ({"layer_dims": [2, 5, 3, 1]}, {}, r"W1 has shape \(4, 2\), expected \(5, 2\) for layer_dims \[2, 5, 3, 1\]"),
    ({"layer_dims": [2, 4, 3, 2]}, {}, r"n_y=1 contradicts layer_dims \[2, 4, 3, 2\]"),
    ({"layer_dims": [2, 4, 3, 3, 1]}, {}, r"is not a model file \(W4, b4 missing\)"),
    ({"layer_dims": [2]}, {}, r"layer_dims must be a list of at least two sizes"),
    ({"layer_dims": [2, 0, 3, 1]}, {}, r"layer_dims\[1\] must be a whole number >= 1, got 0"),
    ({}, {"W5": np.zeros((1, 1))}, r"holds 'W5' besides W1, b1, W2, b2, W3, b3 and config"),
])
def test_bad_deep_model_files_are_refused_naming_the_problem(tmp_path, config, arrays, match):
    deep_file(tmp_path / "m.npz", config, **arrays)
    with pytest.raises(ValueError, match=match):
        load_model(tmp_path / "m.npz")


def test_a_two_layer_file_written_before_any_depth_still_loads(tmp_path):
    params = impls.init_params(2, 4)
    config = {**CONFIG, "n_x": 2, "n_h": 4, "n_y": 1, "format": FORMAT, "format_version": 1, "version": "0.1.0"}
    np.savez(tmp_path / "old.npz", **params, config=np.array(json.dumps(config)))
    loaded, config = load_model(tmp_path / "old.npz")
    assert config["layer_dims"] == [2, 4, 1] and list(loaded) == ["W1", "b1", "W2", "b2"]


def test_save_refuses_a_config_that_contradicts_the_depth(tmp_path):
    params = impls.init_deep_params([2, 4, 3, 1])
    with pytest.raises(ValueError, match=r"config says n_h=4, but the parameters have layer_dims \[2, 4, 3, 1\]"):
        save_model(tmp_path / "m.npz", params, {**CONFIG, "n_h": 4})
    with pytest.raises(ValueError, match=r"config says layer_dims=\[2, 4, 1\], but the parameters have layer_dims"):
        save_model(tmp_path / "m.npz", params, {**CONFIG, "layer_dims": [2, 4, 1]})
    assert not (tmp_path / "m.npz").exists()
