"""compare_backends: passes on the real backends, catches every planted mistake, in float64 and float32."""
import ast
import json
from pathlib import Path

import numpy as np
import pytest

import impls
from compare import Report, compare_backends
from impls.io.datasets import planar
from impls.backends.numpy import NumpyBackend

LR_OFF = {"float64": 1e-6, "float32": 2e-2}  # "slightly off": just past what each dtype can resolve


class SignError(NumpyBackend):
    name = "sign_error"

    def _backward(self, p, X, Y):
        g = super()._backward(p, X, Y)
        g["dW2"] = -g["dW2"]  # B2 with the wrong sign
        return g


class LostKeepdims(NumpyBackend):
    name = "lost_keepdims"

    def _backward(self, p, X, Y):
        g = super()._backward(p, X, Y)
        g["db1"] = np.sum(g["dZ1"], axis=1) / X.shape[1]  # B6 without keepdims: (n_h,), not (n_h, 1)
        return g


class LearningRateOff(NumpyBackend):
    name = "lr_off"

    def _train(self, p, X, Y, learning_rate, n):
        return super()._train(p, X, Y, learning_rate * (1 + LR_OFF[self.dtype]), n)


class WrongIntermediate(NumpyBackend):
    name = "wrong_intermediate"

    def _intermediates(self, p, X, Y):
        inner = super()._intermediates(p, X, Y)
        A1 = self._forward(p, X)["A1"]
        inner["dZ1"] = inner["dA1"] * (1 - A1)  # B4 with g' = 1 - A1, the square forgotten
        return inner


PLANTED = {  # mistake -> the checks it must fail, and only those
    SignError: {("gradient", "dW2"), ("finite differences", "all θ, h=1e-06"), ("training steps", "*")},
    LostKeepdims: {("gradient", "db1"), ("finite differences", "all θ, h=1e-06"), ("training steps", "*")},
    LearningRateOff: {("training steps", "*")},
    WrongIntermediate: {("intermediate", "dZ1")},
}


def run(backends, dtype, iterations=600):
    X, Y = planar()
    return compare_backends(backends, impls.init_params(2, 4, dtype=dtype), X, Y, learning_rate=1.2,
                            iterations=iterations, checkpoint_every=100, steps=10, dataset="planar")


@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_the_real_backends_agree(dtype):
    names = impls.available_backends()
    report = run([impls.get_backend(n, dtype=dtype) for n in names], dtype)
    assert report.ok, str(report)
    sections = {c.section for c in report.checks}
    if len(names) > 1:
        assert sections == {"forward", "cost", "gradient", "intermediate", "repeat", "finite differences",
                            "training steps", "predictions", "inputs"}
    assert len([c for c in report.checks if c.section == "finite differences"]) == len(names)
    if len(names) > 1:
        assert "All" in str(report) and "checks pass: the backends compute the same map" in str(report)
    else:  # numpy alone: nothing compared but finite differences, so no claim that backends agree
        assert "no other backend was compared" in str(report) and "same map" not in str(report)


@pytest.mark.parametrize("dtype", impls.DTYPES)
@pytest.mark.parametrize("planted", PLANTED, ids=lambda cls: cls.name)
def test_every_planted_mistake_is_caught(planted, dtype):
    report = run([NumpyBackend(dtype=dtype), planted(dtype=dtype)], dtype)
    assert not report.ok
    failed = {(c.section, "*" if c.section == "training steps" else c.quantity) for c in report.failures}
    assert failed == PLANTED[planted], str(report)
    assert all(c.backend == planted.name for c in report.failures)
    assert f"{len(report.failures)} check(s) FAILED" in str(report)


def test_a_learning_rate_off_by_one_part_in_a_million_fails_only_the_step_check():
    report = run([NumpyBackend(), LearningRateOff()], "float64")
    step = next(c for c in report.checks if c.section == "training steps")
    assert 5e-7 < step.value < 5e-6 and step.threshold == 1e-9


@pytest.mark.slow  # the course's whole 10000-iteration run in every backend
def test_the_course_run_separates_after_7000_iterations_and_says_why():
    names = impls.available_backends()
    if len(names) < 2:
        pytest.skip("needs torch or jax beside numpy")
    report = run([impls.get_backend(n) for n in names], "float64", iterations=10000)
    assert report.ok
    for t in report.trajectories[1:]:
        assert max(t.distance[:60]) < 1e-13  # the first 6000 iterations agree to rounding
        assert 6500 <= t.separated_at <= 7500 and max(t.distance) > 1e-6
    assert report.trajectories[0].largest_rise[:2] == [7200, 7300]
    assert all("rounding amplified by the dynamics" in n for n in report.notes)


def test_report_round_trips_through_json():
    report = run([NumpyBackend(), SignError()], "float64", iterations=200)
    text = json.dumps(report.to_dict(), allow_nan=False)
    again = Report.from_dict(json.loads(text))
    assert again.to_dict() == report.to_dict()
    assert str(again) == str(report) and again.ok is False


def test_any_object_with_the_contract_can_be_compared():
    class Wrapper:  # a user's own implementation: not an impls.Backend
        name, dtype = "mine", "float64"

        def __init__(self):
            self.inner = NumpyBackend()

        def __getattr__(self, attr):
            return getattr(self.inner, attr)

    report = run([NumpyBackend(), Wrapper()], "float64", iterations=200)
    assert report.ok and {c.backend for c in report.checks} == {"numpy", "mine"}


def test_a_backend_that_raises_is_a_failed_check_not_a_crash():
    class Broken(NumpyBackend):
        name = "broken"

        def _intermediates(self, p, X, Y):
            raise RuntimeError("not implemented yet")

    report = run([NumpyBackend(), Broken()], "float64", iterations=200)
    failed = report.failures
    assert {c.section for c in failed} == {"intermediate"}
    assert "raised RuntimeError: not implemented yet" in failed[0].note


def test_bad_arguments():
    X, Y = planar()
    params = impls.init_params(2, 4)
    with pytest.raises(ValueError, match="at least one backend"):
        compare_backends([], params, X, Y, learning_rate=1.0, iterations=10)
    with pytest.raises(ValueError, match="share one dtype"):
        compare_backends([NumpyBackend(), LearningRateOff(dtype="float32")], params, X, Y, learning_rate=1.0,
                         iterations=10)
    with pytest.raises(ValueError, match="names must differ"):
        compare_backends([NumpyBackend(), NumpyBackend()], params, X, Y, learning_rate=1.0, iterations=10)
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        compare_backends([NumpyBackend()], params, X, Y, learning_rate=-1.0, iterations=10)
    with pytest.raises(ValueError, match="X has 400 examples"):
        compare_backends([NumpyBackend()], params, X, Y[:, :3], learning_rate=1.0, iterations=10)


def test_finite_differences_admit_their_own_rounding_where_the_gradient_is_tiny():
    """On the circles data at the course's start ‖g‖ is 5e-5: the differences' rounding, not a mistake."""
    from impls.io.datasets import load_dataset
    X, Y = load_dataset("circles")
    params = impls.init_params(2, 4)
    good = compare_backends([NumpyBackend(), LearningRateOff()], params, X, Y, learning_rate=1.2, iterations=0)
    fd = [c for c in good.checks if c.section == "finite differences"]
    assert all(c.ok and c.threshold > 1e-7 and "rounding" in c.note for c in fd)
    bad = compare_backends([NumpyBackend(), SignError()], params, X, Y, learning_rate=1.2, iterations=0)
    assert {(c.section, c.backend) for c in bad.failures} >= {("finite differences", "sign_error")}


def test_a_diverging_run_is_reported_as_stopped_not_as_agreeing():
    X, Y = planar()
    report = compare_backends([NumpyBackend(), SignError()], impls.init_params(2, 4), X, Y,
                              learning_rate=1e308, iterations=20)
    assert not report.ok
    assert any(n.startswith("the reference numpy stopped after iteration") for n in report.notes)
    assert any(n.startswith("sign_error's run stopped after iteration") for n in report.notes)
    assert not any("stayed within" in n for n in report.notes)


def test_the_comparison_library_imports_nothing_of_the_teaching_commands():
    """compare/teach/__init__ says so: a user's backend and the verdict do not depend on the course's grader,
    not even through an import inside a function or a file loaded by its path."""
    root = Path(__file__).resolve().parents[1] / "compare"
    uses = []
    for path in root.rglob("*.py"):
        if path.relative_to(root).parts[0] in ("teach", "playground", "cli.py"):  # they present the teaching
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.startswith("compare.teach") for n in names) or (
                    isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value == "teach"):
                uses.append(f"{path.relative_to(root)}:{node.lineno}")
    assert uses == []
