"""No false pass, no false blame (issue 15): every planted backend of tests/user_backends/hostile*.py fails the
checks it should, naming the method, and nothing else fails; a user's class runs in a process of its own."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import impls
from compare import compare_backends, specs
from compare.testing import assert_backends_agree
from conftest import alive, run_compare, run_process, started
from impls.io.datasets import planar
from impls.backends.numpy import NumpyBackend

ROOT = Path(__file__).parents[1]
HOSTILE = str(ROOT / "tests" / "user_backends" / "hostile.py")
TORCH = str(ROOT / "tests" / "user_backends" / "hostile_torch.py")
SMALL = {"learning_rate": 1.2, "iterations": 40, "checkpoint_every": 10, "steps": 2}


def compare(*texts, timeout=None, **settings):
    """compare_backends on the specs as the command line loads them: users' classes in processes of their own."""
    chosen = specs.parse(",".join(texts))
    backends = []
    try:
        for s in chosen:
            backends.append(specs.load(s, activation="tanh", dtype="float64", timeout=timeout))
        specs.name_all(chosen, backends)
        X, Y = planar()
        return compare_backends(backends, impls.init_params(2, 4), X, Y, **{**SMALL, **settings})
    finally:
        specs.close_all(backends)


def failed(report):
    return {(c.backend, c.section) for c in report.failures}


def notes_of(report, name):
    return " ".join(c.note for c in report.checks if c.backend == name)


def run_cli(*args, env=None):
    return run_compare(*args, "--iterations", "40", "--checkpoint-every", "10", "--steps", "2", "--no-plots", cwd=ROOT,
                       env=env)


# False passes (items 1-4)

@pytest.mark.slow
def test_a_forward_of_zeros_fails_its_forward_checks_and_alone_is_not_a_pass():
    report = compare(f"numpy,{HOSTILE}:ZerosForward")
    assert failed(report) == {("zeros_forward", "forward")}
    alone = run_cli("--backends", f"{HOSTILE}:ZerosForward")
    assert alone.returncode == 1, alone.stdout + alone.stderr
    assert "zeros_forward took part in no check of what it computes" in alone.stdout
    assert alone.stdout.strip().splitlines()[-1].startswith("NOT a pass: zeros_forward")


def test_inverted_forward_and_predict_fail_forward_and_the_labels():
    report = compare(f"numpy,{HOSTILE}:InvertedPredict")
    assert failed(report) == {("inverted", "forward"), ("inverted", "predictions")}
    labels = next(c for c in report.checks if c.section == "predictions")
    assert labels.value >= 390 and labels.quantity == "labels at θ after 40 iterations"
    accuracy = {t.backend: t.accuracy for t in report.trajectories}
    assert accuracy["inverted"] == pytest.approx(1 - accuracy["numpy"])


@pytest.mark.slow
def test_gradients_that_pile_up_fail_the_repeated_call_with_the_diagnosis():
    pytest.importorskip("torch")
    report = compare(f"numpy,{TORCH}:Net")
    assert failed(report) == {("net", "repeat")}
    assert "accumulates into a buffer that is never cleared" in " ".join(report.differences["net"]["diagnosis"])
    X, Y = planar()
    with pytest.raises(AssertionError, match="accumulates into a buffer that is never cleared"):
        assert_backends_agree("numpy", f"{TORCH}:Net", impls.init_params(2, 4), X, Y, learning_rate=1.2,
                              iterations=20)


def test_nan_after_the_first_state_fails_the_steps():
    report = compare(f"numpy,{HOSTILE}:NaNAfterStart")
    assert failed(report) == {("nan_after_start", "training steps")}
    assert "nan" in notes_of(report, "nan_after_start")


@pytest.mark.slow
@pytest.mark.parametrize("planted, words", [
    ("ExitsInCost", "cost called sys.exit(0)"),
    ("SystemExitInTrain", "train called sys.exit('done')"),
])
def test_an_exit_in_a_method_is_a_failed_check_with_the_report(planted, words):
    out = run_cli("--backends", f"numpy,{HOSTILE}:{planted}")
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert words in out.stdout and "check(s) FAILED" in out.stdout.splitlines()[-1]
    assert "numpy" not in out.stdout.splitlines()[-1]  # nothing of numpy fails


def test_a_user_backend_cannot_patch_numpy_for_the_reference():
    report = compare(f"numpy,tape,{HOSTILE}:PatchesNumpy")
    assert {b for b, _ in failed(report)} == {"patches_numpy"}
    assert isinstance(np.tanh, np.ufunc) and np.dot(np.ones(2), np.ones(2)) == 2.0  # this process: untouched


@pytest.mark.slow
def test_a_user_backend_cannot_turn_off_jax_float64_for_the_jax_backend():
    jax = pytest.importorskip("jax")
    report = compare(f"numpy,jax,{HOSTILE}:X64Off")
    assert {b for b, _ in failed(report)} == {"x64_off"}
    assert jax.config.jax_enable_x64
    assert report.record["switches"]["x64_off (own process)"]["jax_enable_x64"] is False


# False blame (items 6, 7)

@pytest.mark.parametrize("order", ["reference", "candidate"])
def test_a_train_that_changes_its_parameters_in_place_is_named_alone(order):
    texts = [f"{HOSTILE}:InPlaceTrain", "numpy"] if order == "reference" else ["numpy", f"{HOSTILE}:InPlaceTrain"]
    report = compare(*texts)
    assert failed(report) == {("in_place_train", "inputs")}
    assert "changes the parameters it is given, in place: W1, b1, W2, b2 (in train)" in notes_of(report,
                                                                                                 "in_place_train")


def test_the_same_in_this_process_each_call_gets_its_own_copies():
    from user_backends.hostile import InPlaceTrain
    X, Y = planar()
    params = impls.init_params(2, 4)
    kept = {k: v.copy() for k, v in params.items()}
    report = compare_backends([InPlaceTrain(), NumpyBackend()], params, X, Y, **SMALL)
    assert failed(report) == {("in_place_train", "inputs")}
    assert all(np.array_equal(params[k], kept[k]) for k in params)


def test_a_forward_that_centres_x_in_place_is_named_and_numpy_passes():
    report = compare(f"numpy,{HOSTILE}:CentresX")
    assert {b for b, _ in failed(report)} == {"centres_x"} and ("centres_x", "inputs") in failed(report)
    assert "changes X in place (in forward, predict)" in notes_of(report, "centres_x")
    assert "accumulates" not in " ".join(report.differences["centres_x"]["diagnosis"])


@pytest.mark.slow
@pytest.mark.parametrize("spec", [f"{HOSTILE}:DtypeObject", f"{TORCH}:TorchDtype"])
def test_a_dtype_given_as_an_object_is_read_as_its_name(spec):
    if "torch" in spec:
        pytest.importorskip("torch")
    report = compare(f"numpy,{spec}")
    assert report.ok, str(report)
    assert report.settings["dtype"] == "float64"


def test_an_unreadable_dtype_is_one_clear_error():
    class Odd(NumpyBackend):
        name = "odd"
    odd = Odd()
    odd.dtype = "complex128"
    X, Y = planar()
    with pytest.raises(ValueError, match="backend 'odd' declares dtype='complex128', which is neither"):
        compare_backends([NumpyBackend(), odd], impls.init_params(2, 4), X, Y, **SMALL)


# Any failure: a failed check naming the method, never a traceback (item 8)

@pytest.mark.parametrize("planted, section, words", [
    ("CostNone", "cost", "cost returned None, not a number"),
    ("CostStr", "cost", "cost returned a str, not a number"),
    ("CostArray", "cost", "cost returned an array of shape (3, 1, 1) and dtype float64, not a number"),
    ("TrainDict", "training steps", "train returned a dict with keys ['params', 'costs', 'final_cost'], not a "
                                    "result with .params and .final_cost"),
    ("FinalCostStr", "training steps", "train's result: final_cost is a str, not a number"),
])
def test_a_wrong_answer_is_a_failed_check_naming_the_method(planted, section, words):
    report = compare(f"numpy,{HOSTILE}:{planted}")
    name = next(n for n in report.settings["backends"] if n != "numpy")
    assert {b for b, _ in failed(report)} == {name} and (name, section) in failed(report)
    assert words in notes_of(report, name), notes_of(report, name)


@pytest.mark.slow
def test_tensors_that_require_grad_are_detached_with_a_note():
    pytest.importorskip("torch")
    report = compare(f"numpy,{TORCH}:GradTensors")
    assert report.ok, str(report)
    assert any("grad_tensors: gradients returned torch tensors that require grad" in n for n in report.notes)


@pytest.mark.slow
def test_a_hang_a_crash_and_forged_text_are_failed_checks():
    report = compare(f"numpy,{HOSTILE}:Hangs,{HOSTILE}:Crashes,{HOSTILE}:Forges", timeout=1)
    assert {b for b, _ in failed(report)} == {"hangs", "crashes", "forges"}
    assert "gradients did not answer within the time limit (--timeout 1 CPU seconds" in notes_of(report, "hangs")
    assert "intermediates ended its process: it was killed by SIGSEGV" in notes_of(report, "crashes")
    text = str(report)
    assert "All 99" not in "\n".join(line[:12] for line in text.splitlines()) and "\x1b" not in text
    assert "gradients raised ValueError: bad\\nAll 99 checks pass" in notes_of(report, "forges")


@pytest.mark.slow
def test_no_process_of_a_user_backend_outlives_the_run(tmp_path):
    pids = tmp_path / "pids"
    out = run_cli("--backends", f"numpy,{HOSTILE}:Spawns", env={**os.environ, "HOSTILE_PIDS": str(pids)})
    assert out.returncode == 0, out.stdout + out.stderr
    spawned = [int(p) for p in pids.read_text().split()]
    assert len(spawned) == 2 and not [p for p in spawned if alive(p)]


@pytest.mark.slow
def test_the_json_report_names_every_failure_and_what_it_returned(tmp_path):
    out = run_cli("--backends", f"numpy,{HOSTILE}:CostNone", "--json", str(tmp_path / "r.json"))
    assert out.returncode == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert {c["backend"] for c in report["checks"] if not c["ok"]} == {"cost_none"}


@pytest.mark.slow
@pytest.mark.parametrize("stop, status, line", [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")])
def test_stopping_the_command_stops_every_process_of_a_user_backend(tmp_path, stop, status, line):
    import signal
    import time
    pids = tmp_path / "pids"
    with started([sys.executable, "-m", "compare", "--backends", f"numpy,{HOSTILE}:SpawnsThenHangs",
                  "--iterations", "20", "--no-plots"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 text=True, cwd=ROOT, env={**os.environ, "HOSTILE_PIDS": str(pids)}) as proc:
        deadline = time.monotonic() + 120
        while not (pids.exists() and len(pids.read_text().split()) == 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        spawned = [int(p) for p in pids.read_text().split()]
        proc.send_signal(getattr(signal, stop))
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == status and err.strip().splitlines()[-1] == line and "Traceback" not in err, err
    assert not [p for p in spawned if alive(p)]


@pytest.mark.slow
def test_a_failing_assert_in_a_users_test_shows_the_verdict_not_the_librarys_frames(tmp_path):
    """Item 9: __tracebackhide__; the message stays, the frames with the X and Y arrays go."""
    (tmp_path / "test_theirs.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'tests' / 'user_backends')!r})\n"
        "import impls, mine\n"
        "from impls.io.datasets import planar\n"
        "from compare.testing import assert_backends_agree\n\n"
        "def test_mine():\n"
        "    X, Y = planar()\n"
        "    assert_backends_agree(impls.get_backend('numpy'), mine.SigmoidHidden(), impls.init_params(2, 4), X, Y,\n"
        "                          learning_rate=1.2, iterations=20)\n")
    out = run_process([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                      capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 1
    assert "sigmoid_hidden: first difference at F2 (A1)" in out.stdout
    assert "compare/testing.py" not in out.stdout and "compare/comparison" not in out.stdout
    assert "array([" not in out.stdout


def test_a_nan_anywhere_fails_its_check():
    """Item 3: Python's max() skips a NaN that is not first; every verdict here must not."""
    import math

    from compare import diagnosis
    from compare.numerics import largest, rel_error, worst
    from compare.report import Check
    nan = float("nan")
    assert math.isnan(worst([0.0, nan, 1e-20])) and math.isnan(largest([1.0], [nan]))
    assert math.isnan(rel_error([1.0, 2.0], [1.0, nan]))
    assert not Check("training steps", "b", "q", nan, 1.0).ok
    first = {k: np.ones((2, 2)) for k in impls.GRAD_NAMES}
    assert diagnosis.accumulates(first, {**first, "db1": np.full((2, 2), nan)}, "float64") is not None
