"""Issue 9 as a hostile user tries it: crafted model files, sizes no machine holds, numbers beyond range."""
import io
import json
import re
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import impls
from compare.cli import main
from conftest import make_backend
from impls.io.datasets import load_dataset
from impls.io.model_files import FORMAT, load_model, save_model

CONFIG = {"format": FORMAT, "format_version": 1, "backend": "numpy", "activation": "tanh", "dtype": "float64",
          "n_x": 2, "n_h": 4, "n_y": 1}


def npy(array, shape=None):
    """The .npy bytes of `array`, with a header that declares `shape` instead of its own if given."""
    f = io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(array)
    if shape is not None:
        header["shape"] = shape
    np.lib.format.write_array_header_1_0(f, header)
    f.write(array.tobytes())
    return f.getvalue()


def write_npz(path, members, compression=zipfile.ZIP_STORED):
    """An .npz holding `members` (name -> array or raw .npy bytes), as np.savez lays it out."""
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, value in members.items():
            z.writestr(name + ".npy", value if isinstance(value, bytes) else npy(value))
    return path


def model_members(config=CONFIG, sizes=(2, 4, 1), **arrays):
    """A model's members: weights of `sizes`, `config` (a dict, or the JSON text itself), then `arrays`."""
    text = config if isinstance(config, str) else json.dumps(config)
    return {**impls.init_params(*sizes), "config": np.array(text), **arrays}


def refused_without_allocating(path, match, limit=2 ** 20):
    """load_model refuses `path` with `match`, and never holds more than `limit` bytes doing so."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"{peak} bytes allocated while refusing {path.name}"


def cli(capsys, *args):
    """(exit status, stderr lines) of the command line run in this process."""
    status = main(list(args))
    return status, capsys.readouterr().err.splitlines()


# Item 7: the .npy headers and the configuration are read before any array


def test_a_small_file_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    path = write_npz(tmp_path / "huge.npz", model_members(W1=npy(np.zeros((4, 2)), shape=(10 ** 7, 10 ** 7))))
    assert path.stat().st_size < 2000
    refused_without_allocating(path, r"W1 declares \(10000000, 10000000\) float64, 800000000000128 bytes, "
                                     r"but holds 192")


def test_a_model_larger_than_the_memory_left_is_refused_before_reading_it(tmp_path, monkeypatch):
    path = write_npz(tmp_path / "m.npz", model_members())
    monkeypatch.setattr(impls.memory, "ALWAYS_THERE", 0)  # this machine, as one with 500 bytes left
    monkeypatch.setattr(impls.memory, "machine_memory", lambda: 500)
    refused_without_allocating(path, r"m.npz: the model \(n_x=2, n_h=4, n_y=1, float64\) needs about 544 bytes; "
                                     "this machine has 500 bytes available")


def test_an_array_that_contradicts_the_config_is_refused_before_reading_it(tmp_path):
    path = write_npz(tmp_path / "m.npz", model_members(W1=np.zeros((300, 2))))
    refused_without_allocating(path, r"W1 has shape \(300, 2\), expected \(4, 2\) for n_x=2, n_h=4, n_y=1")


def test_a_zip_bomb_is_never_inflated(tmp_path):
    zeros = np.zeros(4 * 2 ** 20 // 8)
    # a header for the model's (4, 2) followed by 4 MB of zeros, deflated to a few kB
    lying = write_npz(tmp_path / "lying.npz", model_members(W1=npy(np.zeros((4, 2)))[:128] + zeros.tobytes()),
                      zipfile.ZIP_DEFLATED)
    # a header that agrees with a config of 4 MB of weights, all zeros
    config = {**CONFIG, "n_x": 512, "n_h": 1024}
    honest = write_npz(tmp_path / "bomb.npz", model_members(config, (512, 1024, 1), W1=np.zeros((1024, 512))),
                       zipfile.ZIP_DEFLATED)
    assert lying.stat().st_size < 50_000 and honest.stat().st_size < 50_000
    refused_without_allocating(lying, r"is damaged \(W1 declares \(4, 2\) float64, 192 bytes, but holds 4194432\)")
    refused_without_allocating(honest, r"W1 is compressed \d+:1, which weights never are; refused as a possible "
                                       "zip bomb")


def test_a_compressed_model_of_real_weights_still_loads(tmp_path):
    params = impls.init_params(30, 200, seed=1)
    path = write_npz(tmp_path / "m.npz", {**params, "config": np.array(json.dumps({**CONFIG, "n_x": 30, "n_h": 200}))},
                     zipfile.ZIP_DEFLATED)
    loaded, _ = load_model(path)
    for k in impls.PARAM_NAMES:
        np.testing.assert_array_equal(loaded[k], params[k])


# Item 8: the configuration's depth and types, arrays beyond the four, damaged zips


@pytest.mark.parametrize("members, match", [
    (model_members("[" * 100_000 + "]" * 100_000), r"config: nested 100000 levels deep, more than the 100 allowed"),
    (model_members({**CONFIG, "format_version": True}), r"is damaged \(format_version True\)"),
    (model_members({**CONFIG, "n_h": 4.0}), r"n_h must be a whole number >= 1, got 4.0"),
    (model_members({**CONFIG, "version": ["1"]}), r"version must be a string"),
    (model_members(extra=np.zeros(3)), r"holds 'extra' besides W1, b1, W2, b2 and config; a model file holds "
                                       "only those, so it is refused"),
], ids=["nested 100000 deep", "format_version true", "n_h a float", "version a list", "a fifth array"])
def test_bad_configurations_and_extra_arrays_are_refused(tmp_path, members, match):
    with pytest.raises(ValueError, match=match):
        load_model(write_npz(tmp_path / "m.npz", members))


def test_pk_and_garbage_is_a_damaged_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"PK" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"m.npz: is damaged or incomplete \(File is not a zip file\)"):
        load_model(path)


@pytest.mark.parametrize("content", [b"PK" + b"\x00" * 100, "nested", "fifth array"])
def test_predict_with_a_bad_model_is_one_line_exit_2(tmp_path, capsys, monkeypatch, content):
    monkeypatch.chdir(tmp_path)
    if content == "nested":
        write_npz(tmp_path / "bad.npz", model_members('{"a":' * 50_000 + "1" + "}" * 50_000))
    elif content == "fifth array":
        write_npz(tmp_path / "bad.npz", model_members(extra=np.zeros(3)))
    else:
        (tmp_path / "bad.npz").write_bytes(content)
    status, err = cli(capsys, "predict", "--model", "bad.npz")
    assert status == 2 and len(err) == 1 and err[0].startswith("python -m compare: error: bad.npz: "), err


def test_a_model_saved_by_save_model_still_loads(tmp_path):
    params = impls.init_params(3, 5, 2, seed=1)
    config = save_model(tmp_path / "m.npz", params, {"backend": "numpy", "activation": "relu", "dtype": "float64",
                                                     "nested": {"a": [1, [2, {"b": 3}]]}})
    loaded, again = load_model(tmp_path / "m.npz")
    assert again == config
    for k in impls.PARAM_NAMES:
        np.testing.assert_array_equal(loaded[k], params[k])


# Item 9: sizes the machine cannot hold, counts beyond int64


def test_init_params_refuses_sizes_beyond_the_machine_with_the_size():
    with pytest.raises(ValueError, match=r"n_h=1000000000000 with n_x=2, n_y=1 in float64 needs about 128 TB; "
                                         "this machine has"):
        impls.init_params(2, 10 ** 12)


def test_a_run_too_large_for_the_machine_is_refused_before_the_backend_allocates(backend_name, monkeypatch):
    b = make_backend(backend_name)
    X, Y = np.ones((2, 1000)), np.ones((1, 1000))
    params = impls.init_params(2, 2000)  # 8 (n_h, m) arrays of float64: 128 MB
    monkeypatch.setattr(impls.memory, "machine_memory", lambda: 50 * 10 ** 6)
    with pytest.raises(ValueError, match="n_h=2000 with n_x=2, n_y=1 and m=1000 examples in float64 needs about "
                                         "128 MB; this machine has 50 MB available"):
        b.train(params, X, Y, learning_rate=0.1, iterations=1)
    monkeypatch.setattr(impls.memory, "machine_memory", lambda: 10 ** 9)
    b.cost(params, X, Y)  # the same run where the memory is there


@pytest.mark.parametrize("hidden", ["1000000000", "1000000000000"])
def test_train_refuses_a_hidden_layer_no_machine_holds_in_one_line(capsys, hidden):
    tracemalloc.start()
    try:
        status, err = cli(capsys, "train", "--hidden", hidden)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 2 and len(err) == 1, err
    assert f"n_h={hidden} with n_x=2, n_y=1 and m=400 examples in float64 needs about" in err[0]
    assert "this machine has" in err[0] and (" TB;" in err[0] or " PB;" in err[0])
    assert peak < 50 * 2 ** 20  # the data set, not the weights


@pytest.mark.parametrize("flag", ["--iterations", "--hidden", "--print-every"])
def test_counts_beyond_int64_are_one_line_exit_2(capsys, flag):
    with pytest.raises(SystemExit) as exit_:
        main(["train", flag, "9223372036854775808"])
    err = capsys.readouterr().err.splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "must be <= 9223372036854775807" in err[0], err


def test_train_refuses_iterations_beyond_int64(backend_name):
    b = make_backend(backend_name)
    X, Y = load_dataset("moons")
    with pytest.raises(ValueError, match="iterations must be at most 9223372036854775807"):
        b.train(impls.init_params(2, 3), X, Y, learning_rate=1.0, iterations=2 ** 63)


# Item 10: numbers beyond range, masked arrays, None for a path


def test_a_python_int_beyond_float_range_is_a_value_error(backend_name):
    b = make_backend(backend_name)
    with pytest.raises(ValueError, match=r"X must be an array of numbers \(OverflowError: "):
        b.cost(impls.init_params(2, 3), [[10 ** 400, 1], [0, 1]], [[0, 1]])


@pytest.mark.parametrize("argument", ["X", "Y", "W1"])
def test_masked_arrays_are_refused_not_unmasked(backend_name, argument):
    b = make_backend(backend_name)
    X, Y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 1.0]])
    params = impls.init_params(2, 3)
    given = {"X": X, "Y": Y, **params}
    given[argument] = np.ma.array(given[argument], mask=np.zeros_like(given[argument], dtype=bool))
    given[argument].mask.flat[0] = True
    p = {k: given[k] for k in impls.PARAM_NAMES}
    for call in (lambda: b.cost(p, given["X"], given["Y"]),
                 lambda: b.train(p, given["X"], given["Y"], learning_rate=1.0, iterations=1)):
        with pytest.raises(ValueError, match=f"{argument} is a masked array"):
            call()


@pytest.mark.parametrize("scale, dtype", [(1e308, "float64"), (1e300, "float32")])
def test_weights_that_overflow_are_a_value_error_without_a_warning(scale, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = f"scale={scale!r} makes weights overflow to infinity in {dtype}"
        with pytest.raises(ValueError, match=re.escape(message)):
            impls.init_params(2, 4, scale=scale, dtype=dtype)


@pytest.mark.parametrize("path", [None, 3, ["m.npz"]])
def test_load_model_of_something_that_is_no_path_is_a_value_error(path):
    with pytest.raises(ValueError, match="path must be a file name"):
        load_model(path)


# Item 11: the trained parameters are the caller's to change


@pytest.mark.parametrize("iterations", [0, 3])
def test_trained_params_never_share_memory_with_the_input(backend_name, iterations):
    b = make_backend(backend_name)
    X, Y = load_dataset("moons")
    params = impls.init_params(2, 3, seed=1)
    before = {k: v.copy() for k, v in params.items()}
    result = b.train(params, X, Y, learning_rate=1.0, iterations=iterations)
    for k in impls.PARAM_NAMES:
        assert not np.shares_memory(result.params[k], params[k]), k
        result.params[k] += 1.0  # writable, and the input stays as it was
        np.testing.assert_array_equal(params[k], before[k])


# Item 12: astronomically large costs and overflowing parameters are divergence


def test_a_huge_learning_rate_is_reported_as_diverged(backend_name):
    b = make_backend(backend_name)
    X, Y = load_dataset("planar")
    # numpy's cost stays finite (1e298, see the CLI's test below); other backends' may overflow to inf
    match = (r"training diverged: the cost (rose to \d\.\d+e\+\d+, beyond what probabilities in float64 can "
             r"express|is inf|is nan).* at iteration 1000 with learning rate 1e\+300; try a smaller learning rate")
    with pytest.raises(impls.TrainingDiverged, match=match):
        b.train(impls.init_params(2, 4), X, Y, learning_rate=1e300, iterations=2000)


def test_parameters_that_overflow_are_divergence_even_with_a_finite_cost(backend_name, monkeypatch):
    b = make_backend(backend_name)
    X, Y = np.array([[1.0, -2.0, 3.0]]), np.array([[0.0, 1.0, 1.0]])  # one feature: W1·X is ±inf, never inf − inf
    monkeypatch.setattr(b, "_train", lambda p, X, Y, learning_rate, n: {**p, "W1": p["W1"] * float("inf")})
    with pytest.raises(impls.TrainingDiverged, match=r"the parameters overflowed to infinity or NaN \(the cost is "
                                                     r"[\d.e+-]+\) at iteration 10"):
        b.train(impls.init_params(1, 3, seed=1), X, Y, learning_rate=0.1, iterations=10)


def test_train_with_a_huge_learning_rate_exits_1_with_one_line(capsys):
    status, err = cli(capsys, "train", "--lr", "1e300", "--iterations", "2000")
    assert status == 1 and len(err) == 1, err
    assert err[0].startswith("python -m compare: error: training diverged: the cost rose to 5.8"), err


def test_a_huge_initial_scale_prints_its_cost_with_an_exponent_not_hundreds_of_digits(capsys):
    assert main(["train", "--hidden", "4", "--init-scale", "1e300", "--iterations", "2"]) == 0
    out = capsys.readouterr().out
    costs = [line for line in out.splitlines() if line.startswith(("Cost after", "Final cost"))]
    assert costs and all(re.search(r": \d\.\d{6}e\+\d+$", line) and len(line) < 50 for line in costs), costs
