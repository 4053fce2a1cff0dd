"""Bring your own implementation: specs on the command line, partial contracts, where two backends first
differ and why, the pytest helper and the agreement record (issue 11; issue 9 items 12, 13, 18)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import impls
from compare import compare_backends, diagnosis, specs
from compare.cli import main
from compare.testing import assert_backends_agree
from conftest import run_compare
from impls.io.datasets import planar
from impls.backends.numpy import NumpyBackend

ROOT = Path(__file__).parents[1]
MINE = "tests/user_backends/mine.py"
sys.path.insert(0, str(ROOT / "tests" / "user_backends"))
import mine  # noqa: E402 - the user's file, as a module for the Python API tests

M = 400  # examples in the planar data

# planted mistake -> (where it first differs, words of the one-sentence diagnosis)
PLANTED = {
    mine.Summed: ("J", "first difference at cost (J)",
                  "J is exactly m = 400 times the reference's: it sums over the m examples instead of averaging."),
    mine.SigmoidHidden: ("A1", "first difference at F2 (A1)",
                         "A1 = sigmoid(Z1) where tanh was declared: the hidden layer applies the wrong activation."),
    mine.Accumulates: ("dW2", "first difference at B2 (dW2) on a second identical call of gradients",
                       "(dW2 on the second call is 2 times the first call's): it accumulates into a buffer that is "
                       "never cleared."),
    mine.DbNoMean: ("db2", "first difference at B3 (db2)",
                    "db2 is exactly m = 400 times the reference's: it sums over the m examples instead of averaging."),
}


def run_cli(*args):
    return run_compare(*args, cwd=ROOT)


def compare(candidate, dtype, iterations=200):
    X, Y = planar()
    return compare_backends([NumpyBackend(dtype=dtype), candidate], impls.init_params(2, 4, dtype=dtype), X, Y,
                            learning_rate=1.2, iterations=iterations, checkpoint_every=100, steps=10)


@pytest.mark.slow
def test_a_correct_user_file_passes_on_the_command_line(tmp_path):
    out = run_cli("--backends", f"numpy,{MINE}:Mine", "--iterations", "300", "--no-plots",
                  "--json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "All" in out.stdout and "checks pass: the backends compute the same map" in out.stdout
    assert "mine does not provide intermediates: the checks that need it are not run for it." in out.stdout
    record = json.loads((tmp_path / "r.json").read_text())["record"]
    assert record["versions"][f"mine ({'backprop_compare_user_mine'})"] == "1.0"


@pytest.mark.parametrize("dtype", impls.DTYPES)
@pytest.mark.parametrize("planted", PLANTED, ids=lambda cls: cls.name)
def test_every_planted_mistake_names_its_first_difference_and_why(planted, dtype):
    report = compare(planted(dtype=dtype), dtype)
    assert not report.ok
    where, line, sentence = PLANTED[planted]
    found = report.differences[planted.name]
    assert found["where"] == where and found["first_difference"].startswith(line), found
    assert sentence in " ".join(found["diagnosis"]), found
    text = str(report)
    assert f"Where {planted.name} differs: {line}" in text and "Why: " in text
    assert json.loads(json.dumps(report.to_dict()))["differences"][planted.name]["where"] == where


def test_everything_before_the_first_difference_is_said_to_agree():
    found = compare(mine.SigmoidHidden(), "float64").differences["sigmoid_hidden"]
    assert "; Z1 agrees exactly" in found["first_difference"] and "‖Δ‖/‖A1‖ = " in found["first_difference"]
    found = compare(mine.DbNoMean(), "float64").differences["db_no_mean"]
    assert "Z1, A1, Z2, A2, J, dW2 agree " in found["first_difference"]
    assert "dW2 and dW1 agree but db2 and db1 differ: the mistake is in B3, B6 alone" in " ".join(found["diagnosis"])


@pytest.mark.slow
@pytest.mark.parametrize("planted", [mine.Summed, mine.SigmoidHidden])
def test_planted_versions_fail_on_the_command_line_with_the_diagnosis(planted):
    out = run_cli("--backends", f"numpy,{MINE}:{planted.__name__}", "--iterations", "200", "--no-plots")
    assert out.returncode == 1, out.stdout + out.stderr
    assert PLANTED[planted][1] in out.stdout and "FAILED" in out.stdout


def test_the_pytest_helper_returns_the_report_or_fails_with_the_diagnosis():
    X, Y = planar()
    params = impls.init_params(2, 4)
    report = assert_backends_agree(NumpyBackend(), mine.Mine(), params, X, Y, learning_rate=1.2, iterations=100)
    assert report.ok
    with pytest.raises(AssertionError) as failed:
        assert_backends_agree(NumpyBackend(), mine.SigmoidHidden(), params, X, Y, learning_rate=1.2, iterations=100)
    message = str(failed.value)
    assert "check(s) FAILED" in message.splitlines()[0]
    assert "sigmoid_hidden: first difference at F2 (A1)" in message and "A1 = sigmoid(Z1)" in message


@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_detectors_recognise_sign_transpose_and_small_whole_factors(dtype):
    rng = np.random.RandomState(0)
    ref = rng.randn(4, 2).astype(dtype)
    assert "sign flipped" in diagnosis.scale_mistake("dW1", ref, -ref, M, dtype)
    assert "exactly 2 times" in diagnosis.scale_mistake("dW1", ref, 2 * ref, M, dtype)
    assert "exactly 1/4 of" in diagnosis.scale_mistake("dW1", ref, ref / 4, M, dtype)
    assert "divides by m twice" in diagnosis.scale_mistake("dW1", ref, ref / M, M, dtype)
    assert diagnosis.scale_mistake("dW1", ref, ref + rng.randn(4, 2), M, dtype) is None
    assert diagnosis.scale_mistake("J", np.float64(0.69), np.float64(0.7), M, dtype) is None  # scalars: named only
    assert "transpose" in diagnosis.transposed("dW1", ref, ref.T.copy(), dtype)
    assert diagnosis.transposed("dW1", ref, ref, dtype) is None


def test_a_transposed_gradient_is_named_on_the_walk():
    class Transposed(NumpyBackend):
        name = "transposed"

        def _backward(self, p, X, Y):
            g = super()._backward(p, X, Y)
            g["dW1"] = g["dW1"].T
            return g

    found = compare(Transposed(), "float64", iterations=0).differences["transposed"]
    assert found["where"] == "dW1" and "transpose of the reference's" in " ".join(found["diagnosis"])


def test_a_partial_contract_runs_what_it_allows_and_lists_the_rest():
    class OnlyCost:
        name, dtype, activation = "only_cost", "float64", "tanh"

        def cost(self, params, X, Y):
            return NumpyBackend().cost(params, X, Y)

    report = compare(OnlyCost(), "float64")
    assert report.ok and {c.section for c in report.checks if c.backend == "only_cost"} == {"cost", "inputs"}
    assert report.not_provided == {"only_cost": ["gradients", "intermediates", "forward", "train", "predict"]}
    assert "only_cost does not provide gradients, intermediates, forward, train, predict" in str(report)

    class Nothing:
        name = "nothing"
    with pytest.raises(ValueError, match="'nothing' provides none of the methods cost, gradients, forward, train"):
        compare(Nothing(), "float64")


@pytest.mark.parametrize("spec, message", [
    ("numpy,no/such/mine.py:Mine", "no such file no/such/mine.py"),
    (f"numpy,{MINE}:Yours", f"{MINE} has no Yours"),
    ("numpy,no_such_module:Mine", "no module named 'no_such_module'"),
    ("numpy,tensorflow", "unknown backend 'tensorflow'; choose from numpy"),
    ("numpy,mine.py:", "expected FILE.py:CLASS or MODULE:CLASS"),
    ("numpy,torch@", "give a device after @"),
])
@pytest.mark.slow
def test_bad_specs_are_one_line_exit_2(spec, message):
    out = run_cli("--backends", spec, "--iterations", "1", "--no-plots")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


@pytest.mark.slow
def test_a_class_that_does_not_construct_is_one_line_exit_2():
    out = run_cli("--backends", f"numpy,{MINE}:Mine", "--activation", "relu", "--iterations", "1", "--no-plots")
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "does not construct with activation='relu'" in out.stderr and "mine does tanh" in out.stderr


@pytest.mark.slow
def test_a_gpu_on_a_machine_without_one_is_one_line_exit_2():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = run_cli("--backends", "numpy,torch@cuda", "--iterations", "1", "--no-plots")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "no CUDA GPU" in out.stderr, out.stderr


def test_one_framework_on_two_devices_gets_two_names(capsys):
    pytest.importorskip("torch")
    assert main(["--backends", "torch@cpu,torch", "--iterations", "20", "--no-plots"]) == 0
    assert "torch@cpu (reference) against torch" in capsys.readouterr().out


def installed_entry_point(folder, name, target):
    """A distribution in `folder` that registers `name` = `target` as a backend, as `pip install` would."""
    info = folder / f"theirs_{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: theirs-{name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{specs.ENTRY_POINT_GROUP}]\n{name} = {target}\n")


def test_module_specs_and_entry_points_load_and_get_unique_names(monkeypatch, capsys, tmp_path):
    assert main(["--backends", "numpy,impls.backends.numpy:NumpyBackend", "--iterations", "20", "--no-plots"]) == 0
    assert "numpy (reference) against impls.backends.numpy:NumpyBackend" in capsys.readouterr().out
    installed_entry_point(tmp_path, "theirs", "impls.backends.numpy:NumpyBackend")
    monkeypatch.syspath_prepend(str(tmp_path))  # found here, and by the backend's own process
    assert main(["--backends", "numpy,theirs", "--iterations", "20", "--no-plots"]) == 0
    assert "numpy (reference) against theirs" in capsys.readouterr().out


def test_the_record_carries_versions_switches_tolerances_and_per_value_figures():
    report = compare(mine.DbNoMean(dtype="float32"), "float32")
    record = json.loads(json.dumps(report.to_dict(), allow_nan=False))["record"]
    assert record["versions"]["numpy"] == np.__version__ and "python" in record["versions"]
    assert record["switches"]["devices"] == {"numpy": "cpu", "db_no_mean": "cpu"}
    assert "blas_threads" in record["switches"]
    tol = record["tolerances"]
    assert tol["BACKEND_RTOL"]["value"] == {"float64": 1e-12, "float32": 1e-4}
    assert tol["FD_RTOL"]["reason"] == tol["FD_STEP"]["reason"] and "balances them" in tol["FD_STEP"]["reason"]
    assert "ratio" in tol["RATIO_RTOL"]["reason"].lower()
    values = record["values"]["db_no_mean"]
    assert list(values) == ["Z1", "A1", "Z2", "A2", "J", "dW2", "db2", "dW1", "db1"]  # no intermediates
    assert values["Z1"]["ulp"] <= 4 and values["db2"]["ulp"] > 1e3 and values["db2"]["max_rel"] > 0.99


def test_a_huge_learning_rate_does_not_overflow_the_checks_own_norms():
    """Issue 9 item 12: with lr 1e300 the trajectories agree, and no check may fail from its own overflow."""
    class Twin(NumpyBackend):  # the same map, rounded differently: its steps differ from numpy's by ulps
        name = "twin"

        def _backward(self, p, X, Y):
            g = super()._backward(p, X, Y)
            g["dW1"] = np.dot(g["dZ1"], X.T) * (1 / X.shape[1])
            return g

    X, Y = planar()
    report = compare_backends([NumpyBackend(), Twin()], impls.init_params(2, 4), X, Y, learning_rate=1e300,
                              iterations=20, checkpoint_every=5, steps=2)
    assert report.ok, str(report)
    [steps] = [c for c in report.checks if c.section == "training steps"]  # says what it could and did compare
    assert steps.quantity == "2 steps × 1 state" and steps.note.startswith("no finite step to measure")


def test_one_backend_says_there_is_nothing_to_compare_and_draws_no_distance(tmp_path, capsys):
    """Issue 9 item 18."""
    assert main(["--backends", "numpy", "--iterations", "50", "--plots", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("backprop-compare: numpy alone: nothing to compare against but finite")
    assert "the backends compute the same map" not in out
    assert "3 check(s) pass: numpy's gradients agree with finite differences" in out  # and repeat, inputs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cost_curves.png", "decision_boundaries.png"]


def test_a_candidate_that_does_not_diverge_where_the_reference_does_fails_the_steps():
    """Both diverging from a state is agreement; only one of them diverging is not."""
    class NeverDiverges(NumpyBackend):
        name = "never"

        def _checked_cost(self, p, X, Y, *args):
            return float(self._cost(p, X, Y))  # no divergence guard: huge costs come back as results

    X, Y = planar()
    report = compare_backends([NumpyBackend(), NeverDiverges()], impls.init_params(2, 4), X, Y,
                              learning_rate=1e300, iterations=20, checkpoint_every=5, steps=2)
    steps = next(c for c in report.checks if c.section == "training steps")
    assert not steps.ok and "TrainingDiverged" in steps.note
