"""The bench: its references compute what the backends compute, its memory probe sees every framework's
allocations, its report has every figure. Speed itself is the bench's to report, never a test's."""
import json
from dataclasses import replace

import numpy as np
import pytest

import impls
from compare.bench import deep, measure, references, report, workloads
from compare.bench.cli import Plan, data_parallel
from compare.numerics import rel_error
from compare.tolerances import BACKEND_RTOL, STEP_RTOL
from conftest import DEEP_DIMS, deep_problem, make_backend, nondegenerate_problem, run_compare
from impls.base import PARAM_NAMES, param_names

FRAMEWORKS = ("numpy", "torch", "jax")  # the libraries the backends run on


def _flat(params):
    return np.concatenate([np.asarray(params[k], dtype=np.float64).ravel() for k in param_names(len(params) // 2)])


def _step_error(got, reference, start):
    """‖θ − θ_ref‖ / ‖θ_ref − θ_start‖: the comparison's step-by-step measure of k training steps."""
    return np.linalg.norm(_flat(got) - _flat(reference)) / np.linalg.norm(_flat(reference) - _flat(start))


@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_plain_loop_takes_the_numpy_backends_steps(dtype):
    X, Y, params = nondegenerate_problem(3, 5, 1, 40, seed=3, dtype=dtype)
    reference = make_backend("numpy", dtype=dtype).train(params, X, Y, learning_rate=0.5, iterations=10).params
    plain = references.plain_numpy_loop(params, X, Y, 0.5, 10)
    assert all(plain[k].dtype == dtype and plain[k].shape == params[k].shape for k in PARAM_NAMES)
    assert _step_error(plain, reference, params) < STEP_RTOL[dtype]
    # the measure separates: a learning rate off by one part in 1e4 is far outside it
    assert _step_error(references.plain_numpy_loop(params, X, Y, 0.5 * (1 + 1e-4), 10), reference, params) > 1e-5


@pytest.mark.parametrize("L", [1, 2, 4])
@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_course_deep_loop_takes_the_numpy_backends_relu_steps(L, dtype):
    X, Y, params = deep_problem(DEEP_DIMS[L], 40, seed=6, dtype=dtype)
    reference = make_backend("numpy", activation="relu", dtype=dtype).train(
        params, X, Y, learning_rate=0.3, iterations=10).params
    course = references.course_deep_loop(params, X, Y, 0.3, 10)
    assert all(course[k].dtype == dtype and course[k].shape == params[k].shape for k in params)
    assert _step_error(course, reference, params) < STEP_RTOL[dtype]
    # the measure separates: a learning rate off by one part in 1e4 is far outside it
    assert _step_error(references.course_deep_loop(params, X, Y, 0.3 * (1 + 1e-4), 10), reference, params) > 1e-5
    # and the course's helpers are the course's: every layer's dA_prev, dA0 = W1ᵀ dZ1 included
    AL, caches = references.course_L_model_forward(X, params)
    grads = references.course_L_model_backward(AL, Y, caches)
    assert sorted(grads) == sorted([f"dA{l}" for l in range(L)] + [f"d{k}" for k in params])
    assert grads["dA0"].shape == X.shape


@pytest.mark.parametrize("n_y", [1, 2])
def test_sklearn_is_the_same_gradient_descent_from_our_start(n_y):
    X, Y, params = nondegenerate_problem(3, 5, n_y, 40, seed=4)
    reference = make_backend("numpy").train(params, X, Y, learning_rate=0.5, iterations=10).params
    loop = references.SklearnLoop(params, X, Y, 0.5)
    got = loop.run(10)
    assert loop.mlp.n_iter_ == 10 and loop.mlp.out_activation_ == "logistic"
    assert {k: v.shape for k, v in got.items()} == {k: v.shape for k, v in params.items()}
    assert _step_error(got, reference, params) < STEP_RTOL["float64"]
    # every run starts again from our params, not from where the last one stopped
    assert _step_error(loop.run(10), reference, params) < STEP_RTOL["float64"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_floor_is_the_gradients_two_big_products(framework, dtype):
    if framework != "numpy":
        pytest.importorskip(framework)
    X, Y, params = nondegenerate_problem(6, 5, 1, 30, seed=5, dtype=dtype)
    numpy_backend = make_backend("numpy", dtype=dtype)
    dZ1 = numpy_backend.intermediates(params, X, Y)["dZ1"]
    prepare, products = references.floor_products(framework)
    W1X, dZ1XT = (np.asarray(a) for a in products(*prepare(params["W1"], X, dZ1)))
    assert W1X.dtype == dtype and dZ1XT.dtype == dtype
    # F1 without its bias, and B5 without its 1/m
    assert rel_error(W1X + params["b1"], numpy_backend.forward(params, X)["Z1"]) < BACKEND_RTOL[dtype]
    assert rel_error(dZ1XT / X.shape[1], numpy_backend.gradients(params, X, Y)["dW1"]) < BACKEND_RTOL[dtype]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_deep_floor_is_every_product_of_the_deep_gradient_but_dA0(framework, dtype):
    if framework != "numpy":
        pytest.importorskip(framework)
    L = 4
    X, Y, params = deep_problem(DEEP_DIMS[L], 30, seed=7, dtype=dtype)
    backend = make_backend("numpy", activation="relu", dtype=dtype)
    cache, inner = backend.forward(params, X), backend.intermediates(params, X, Y)
    grads = backend.gradients(params, X, Y)
    Ws = [params[f"W{l}"] for l in range(1, L + 1)]
    As = [X] + [cache[f"A{l}"] for l in range(1, L)]
    dZs = [inner[f"dZ{l}"] for l in range(1, L + 1)]
    prepare, products = references.deep_floor_products(framework)
    forward, weights, back = ([np.asarray(a) for a in part] for part in products(*prepare(Ws, As, dZs)))
    assert (len(forward), len(weights), len(back)) == (L, L, L - 1)
    assert all(a.dtype == dtype for a in forward + weights + back)
    for l in range(1, L + 1):  # F1 F3 without the bias, B2 B5 without the 1/m, B4's W_lᵀ·dZ_l = dA_{l−1}
        assert rel_error(forward[l - 1] + params[f"b{l}"], cache[f"Z{l}"]) < BACKEND_RTOL[dtype]
        assert rel_error(weights[l - 1] / X.shape[1], grads[f"dW{l}"]) < BACKEND_RTOL[dtype]
        if l > 1:
            assert rel_error(back[l - 2], inner[f"dA{l - 1}"]) < BACKEND_RTOL[dtype]


def _allocate(framework, mb):
    """fn() that allocates and fills `mb` MB in `framework`, and keeps it until it returns."""
    n = mb * 2 ** 20 // 8
    if framework == "numpy":
        return lambda: np.ones(n).sum()
    if framework == "torch":
        import torch
        return lambda: float(torch.ones(n, dtype=torch.float64).sum())
    import jax.numpy as jnp
    return lambda: float(jnp.ones(n, dtype=jnp.float64).sum())


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_memory_probe_sees_each_frameworks_allocations(framework):
    if framework != "numpy":
        pytest.importorskip(framework)
        make_backend(framework)  # JAX in float64, as the backend sets it
    try:
        open("/proc/self/clear_refs", "w").close()
    except OSError:
        pytest.skip("needs Linux's /proc/self/clear_refs")
    measured = measure.peak_memory_mb(_allocate(framework, 64))
    assert 60 < measured < 80, measured  # 64 MB, plus what the interpreter and allocator add around it
    assert measure.peak_memory_mb(lambda: None) < 4


def test_tracemalloc_cross_check_sees_numpy():
    assert 63 < measure.traced_peak_mb(_allocate("numpy", 64)) < 66


def test_memory_need_counts_data_params_and_one_set_of_activations():
    need = workloads.memory_need({"m": 10, "n_x": 3, "n_h": 4, "dtype": "float32"})
    assert need["data"] == (3 + 1) * 10 * 4                  # X and Y
    assert need["params"] == (4 * 3 + 4 + 4 + 1) * 4         # W1, b1, W2, b2
    assert need["activations"] == (4 + 4 + 1 + 1) * 10 * 4   # Z1, A1, Z2, A2
    assert need["total"] == need["data"] + need["params"] + need["activations"]


def test_targets_are_judged_on_this_runs_ratios():
    def rounds(*values):  # (median, every round's value), as measure.interleaved returns them
        return (float(np.median(values)), list(values))

    # ratios are the median of each round's ratio: 11/10, 9/10 and 12/10 give 1.1, as the load drifts
    small = {"plain loop": rounds(10.0, 10.0, 20.0), "sklearn": rounds(20.0, 20.0, 40.0),
             "numpy": rounds(11.0, 9.0, 24.0), "jax": rounds(1.6, 1.6, 3.2)}
    large = {("floor", "numpy"): rounds(1.0), ("numpy", "compute"): rounds(1.15),
             ("floor", "jax"): rounds(2.0), ("jax", "compute"): rounds(2.4)}
    memory = {"numpy": {"need_ratio": 1.4}, "jax": {"need_ratio": None}}
    got = {t["what"]: (t["value"], t["met"]) for t in report.targets(["numpy", "jax"], small, large, memory)}
    assert got == {
        "jax steady state ≤ 0.15× plain loop": (pytest.approx(0.16), False),
        "numpy steady state ≤ 1.1× plain loop": (pytest.approx(1.1), True),
        "numpy faster than sklearn (< 1×)": (pytest.approx(0.55), True),   # 0.55, 0.45, 0.6
        "jax faster than sklearn (< 1×)": (pytest.approx(0.08), True),
        "numpy gradient compute ≤ 1.15× its floor": (pytest.approx(1.15), True),
        "jax gradient compute ≤ 1.15× its floor": (pytest.approx(1.2), False),
        "numpy peak ≤ 1.5× need": (1.4, True),
        "jax peak ≤ 1.5× need": (None, False),   # not measured is not met
    }


def test_deep_targets_are_judged_and_a_miss_says_what_bounds_it():
    def rounds(*values):
        return (float(np.median(values)), list(values))

    app = {"course loop": rounds(10.0, 20.0), "numpy": rounds(11.0, 24.0), "floor (numpy)": rounds(5.0, 10.0)}
    large = {("floor", "numpy"): rounds(1.0), ("numpy", "compute"): rounds(1.3), ("pass", "numpy"): rounds(0.01),
             ("floor", "tape"): rounds(1.0), ("tape", "compute"): rounds(1.5), ("pass", "tape"): rounds(0.01)}
    checks = deep.deep_targets(["numpy", "tape"], app, large)
    assert {c["what"]: (c["value"], c["met"]) for c in checks} == {
        "numpy deep step ≤ 1.15× course loop": (pytest.approx(1.15), True),   # 1.1 and 1.2
        "numpy deep gradient ≤ 1.3× its floor": (pytest.approx(1.3), True),
        "tape deep gradient ≤ 1.3× its floor": (pytest.approx(1.5), False)}
    shapes = deep.deep_shapes(quick=True)
    (line,) = deep.deep_bounds([c for c in checks if not c["met"]], app, large, shapes, {})
    # 0.5 s beyond the floor is 50 passes of 10 ms; then the same call measured again on one thread
    assert line.startswith("tape, deep large: gradient compute 1500 ms = its floor 1000 ms + 500 ms")
    assert "50.0 elementwise passes over an (24, m) array" in line and "on one thread, in CPU time" in line


def test_deep_shapes_are_the_issues_and_hidden_replaces_both_networks_hidden_layers():
    full = deep.deep_shapes(quick=False)
    assert (full.app_dims, full.app_m) == ([12288, 20, 7, 5, 1], 209)
    assert (full.large_dims, full.large_m) == ([784, 512, 512, 512, 1], 20000)
    mine = deep.deep_shapes(quick=False, hidden=[64, 32])
    assert (mine.app_dims, mine.large_dims, mine.large_m) == ([12288, 64, 32, 1], [784, 64, 32, 1], 20000)
    X, Y, params = deep.app_problem(full.app_dims, full.app_m)
    assert X.shape == (12288, 209) and X.min() >= 0 and X.max() <= 1 and np.allclose(X * 255, np.round(X * 255))
    assert set(np.unique(Y)) == {0.0, 1.0} and impls.layer_dims(params) == full.app_dims


def test_jax_reads_an_aligned_array_in_place_and_copies_any_other():
    pytest.importorskip("jax")
    from impls.backends.jax import aligned

    X = np.arange(24.0).reshape(4, 6)
    A = aligned(X)
    assert A.ctypes.data % 64 == 0 and A.flags.c_contiguous and np.array_equal(A, X)
    assert aligned(A) is A
    F = aligned(np.asfortranarray(X))
    assert F.flags.c_contiguous and np.array_equal(F, X)
    assert make_backend("jax")._asarray(A).unsafe_buffer_pointer() == A.ctypes.data


def run_bench(*args):
    return run_compare("bench", *args, timeout=600)


@pytest.mark.slow
def test_quick_bench_prints_every_figure_and_writes_json_and_plot(tmp_path):
    names = impls.available_backends()
    out = run_bench("--quick", "--json", str(tmp_path / "bench.json"), "--plots", str(tmp_path / "plots"))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for heading in ("Small workload: the course's run", "Large workload: random data", "Peak memory of one",
                    "Scaling: µs per iteration", "Targets (ratios from this run)"):
        assert heading in text
    small = text.split("Small workload")[1].split("Large workload")[0]
    for name in ("plain loop", "sklearn", *names):  # µs/it, × plain, × sklearn, whole s, × plain, import s
        row = next(line for line in small.splitlines() if line.strip().startswith(name + " "))
        cells = row.split()[len(name.split()):]
        assert len(cells) == 6 and all(float(c) > 0 for c in cells[:5]), row
    for name in names:
        for figure in ("gradients()", "gradient compute", "one iteration"):
            assert f"{name} {figure}" in text
        assert f"floor ({name})" in text
    figures = json.loads((tmp_path / "bench.json").read_text())
    assert set(figures) >= {"machine", "small", "large", "memory", "sweep", "targets", "bounds", "notes"}
    busy = "torch" in names
    assert ("Busy machine: the course's run" in text) == busy and "Data parallel: " in text
    assert len(figures["targets"]) == (sum(n in report.SMALL_TARGETS for n in names) + 3 * len(names) + busy
                                       + ("numpy" in names) + len(names))  # the deep step's and each deep floor's
    deep_text = text.split("Deep workload, the week-4 application")[1].split("Scaling: ")[0]
    assert "Deep workload, large: random data, layer_dims [40, 24, 24, 24, 1], m=600" in deep_text
    for name in ("course loop", *names, "floor (numpy)"):  # ms/step, × course loop
        row = next(line for line in deep_text.splitlines() if line.strip().startswith(name + " "))
        assert len(row.split()[len(name.split()):]) == 2 and all(float(c) > 0 for c in row.split()[-2:]), row
    for name in names:
        assert f"{name} gradient compute" in deep_text and f"floor ({name})" in deep_text
    assert set(figures["deep_application"]) == {"course loop", *names, "floor (numpy)"}
    assert {f"{name} compute" for name in names} <= set(figures["deep_large"])
    # --quick gives no verdict, says why once, and prints no ratio that rounds to 0.00
    targets = text.split("Targets (ratios from this run)")[1]
    assert "MISSED" not in targets and " met" not in targets and text.count("no verdict") == 1
    assert all(t["met"] is None for t in figures["targets"]) and figures["bounds"] == []
    assert " 0.00 " not in text and not any(line.endswith(" 0.00") for line in text.splitlines())
    assert all(figures["memory"][n]["working_mb"] > 0 for n in ("plain loop", "sklearn", *names))
    assert len(figures["sweep"]["m"]["seconds"]["plain loop"]) == len(workloads.QUICK.sweep["m"])
    assert (tmp_path / "plots" / "bench_scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, message", [
    (["--backends", "tensorflow"], "unknown backend 'tensorflow'"),
    (["--repeats", "0"], "argument --repeats: '0' must be >= 1"),
    (["--workers", "1,0"], "argument --workers: '0' must be >= 1"),
    (["--workers", "two"], "argument --workers: 'two' is not a whole number"),
    (["--json", "no/such/folder/bench.json"], "--json no/such/folder/bench.json: folder no/such/folder does not exist"),
    (["--backends", "numpy", "--device", "cuda"], "--device cuda: only torch and jax run on a GPU"),
    (["--hidden", "20,0,5"], "argument --hidden: '20,0,5': each hidden layer's size must be a whole number >= 1"),
])
@pytest.mark.slow
def test_usage_errors_exit_2_with_one_line(args, message):
    out = run_bench(*args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


@pytest.mark.slow
def test_asking_for_a_missing_gpu_says_so_in_one_line():
    gpu_names = [n for n in ("torch", "jax") if n in impls.available_backends()]
    if not gpu_names:
        pytest.skip("neither torch nor jax is installed")
    for name in gpu_names:
        try:
            impls.get_backend(name, device="cuda")
            pytest.skip(f"{name} finds a GPU")
        except ValueError:
            pass
    out = run_bench("--backends", ",".join(gpu_names), "--device", "cuda")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("python -m compare: error: --device cuda: ") and "GPU" in out.stderr


@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_the_faster_cost_forms_are_exact_at_their_kinks_and_in_saturation(backend_name, dtype):
    """torch's softplus (threshold 40) and JAX's max(z, 0) + log1p(exp(min(z, -z))) replace logaddexp for
    speed; at Z2 = 0 (the all-zero start) and at |Z2| far past 40 they must still give σ(Z2) − Y."""
    X, Y, params = nondegenerate_problem(3, 4, 2, 30, seed=6, dtype=dtype)
    backend, reference = make_backend(backend_name, dtype=dtype), make_backend("numpy", dtype=dtype)
    zero = impls.init_params(3, 4, 2, scale=0, dtype=dtype)  # Z2 = 0 exactly: dZ2 = 1/2 − Y
    np.testing.assert_allclose(backend.gradients(zero, X, Y)["db2"], np.mean(0.5 - Y, axis=1, keepdims=True),
                               rtol=BACKEND_RTOL[dtype])
    # one output straddling torch's threshold of 40, one saturated far below
    big = {**params, "W2": params["W2"] * 0.05, "b2": np.array([[40.0], [-60.0]], dtype=dtype)}
    Z2 = reference.forward(big, X)["Z2"]
    assert Z2[0].min() < 40 < Z2[0].max() and Z2[1].max() < -40
    assert backend.cost(big, X, Y) == pytest.approx(reference.cost(big, X, Y), rel=BACKEND_RTOL[dtype])
    got, want = backend.gradients(big, X, Y), reference.gradients(big, X, Y)
    assert all(np.isfinite(got[k]).all() and rel_error(got[k], want[k]) < BACKEND_RTOL[dtype] for k in got)


def test_ratios_keep_significant_digits_instead_of_reading_0_00():
    assert [report.fmt_ratio(x) for x in (None, 0, 1.234, 0.55, 0.08, 0.0031, 2e-5)] == \
        ["-", "0.00", "1.23", "0.55", "0.08", "0.0031", "2e-05"]


def test_busy_processes_end_with_the_block_also_on_an_error(monkeypatch):
    started, start = [], workloads.processes.start

    def recorded(*args, **kwargs):
        started.append(start(*args, **kwargs))
        return started[-1]
    monkeypatch.setattr(workloads.processes, "start", recorded)
    with pytest.raises(KeyError):
        with workloads.busy_cores(2):
            assert len(started) == 2 and all(p.poll() is None for p in started)  # spinning
            raise KeyError
    assert all(p.returncode is not None for p in started)  # ended and reaped


def test_busy_target_is_torchs_slowdown_over_numpys():
    busy = {("numpy", "idle"): (1.0, [1.0]), ("numpy", "busy"): (3.0, [3.0]),
            ("torch", "idle"): (2.0, [2.0]), ("torch", "busy"): (10.0, [10.0])}
    assert report.busy_figures(busy) == ({"numpy": 3.0, "torch": 5.0}, pytest.approx(5 / 3))
    (check,) = [t for t in report.targets([], {}, {}, {}, busy) if t["group"] == "busy"]
    assert check["value"] == pytest.approx(5 / 3) and check["met"]
    lines = report.busy_section(busy, workloads.QUICK, 2, quick=False)
    assert lines[-1].endswith("1.67 (target ≤ 2)  ✓")
    assert "✓" not in report.busy_section(busy, workloads.QUICK, 2, quick=True)[-1]


def test_workers_table_gives_ratios_to_the_single_process_backend_and_the_core_count():
    steps = {("torch", 0): {"step_s": 0.010}, ("torch-ddp", 1): {"step_s": 0.011},
             ("torch-ddp", 2): {"step_s": 0.015}, ("torch-ddp", 4): {"error": "exit status 1: boom"}}
    lines = report.workers_section(steps, (1, 2, 4), 2, workloads.QUICK.large)
    assert "this machine has 2 cores" in lines[0]
    row = next(line for line in lines if line.strip().startswith("torch-ddp (× torch)"))
    assert "10 ms" in row and "11 ms (× 1.10)" in row and "15 ms (× 1.50)" in row and row.endswith("-")
    assert any("4 workers share 2 cores: more workers cannot be faster here" in line for line in lines)
    assert any("not measured: torch-ddp, 4 workers: exit status 1: boom" in line for line in lines)


@pytest.mark.slow
def test_step_child_times_a_training_step_in_a_fresh_process():
    pytest.importorskip("torch")
    got = workloads.run_child("torch", "cpu", True, workers=0)
    assert set(got) == {"step_s", "call_s"} and got["step_s"] > 0 and got["call_s"] >= 0, got


def test_data_parallel_section_says_why_it_is_skipped():
    plan = Plan(["numpy"], [], workloads.QUICK, {}, None, quick=True, named=True)
    assert data_parallel(plan, None) == ["Data parallel: skipped, --backends names neither torch-ddp nor jax-sharded"]
    assert data_parallel(replace(plan, named=False), None) == [
        "Data parallel: skipped, neither torch nor jax is installed"]
