"""The data-parallel backends: equal to one process on uneven shards, and each porting bug caught."""
import functools
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import impls
from compare.comparison import compare_backends
from compare.numerics import rel_error
from conftest import alive, make_backend, run_compare, run_process, started
from impls.io.datasets import load_dataset

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

from impls.parallel.process_group import WorkerFailed, local_group  # noqa: E402
from impls.backends.torch import cross_entropy  # noqa: E402
from impls.parallel.torch_ddp import Replica, TorchDDPBackend, shard_bounds  # noqa: E402

M = 401  # 3 workers: shards of 134, 134 and 133 examples


@pytest.fixture(scope="module")
def problem():
    X, Y = load_dataset("planar", seed=0)
    X, Y = np.hstack([X, X[:, :1]]), np.hstack([Y, Y[:, :1]])
    assert X.shape[1] == M
    return X, Y, impls.init_params(2, 4, seed=3, scale=0.5)


def children(parent):
    """The pids of `parent`'s live children, from /proc (psutil is not installed)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != "Z":
                pids.append(int(entry))
    return pids


def workers_of(parent):
    """The pids of the torch-ddp workers `parent` started: each runs under a supervisor (impls/processes.py)."""
    return [pid for supervisor in children(parent) for pid in children(supervisor)]


def test_shards_cover_the_examples_once_and_differ_by_at_most_one():
    for m, world in [(401, 3), (400, 4), (2, 3), (7, 1)]:
        bounds = shard_bounds(m, world)
        assert bounds[0][0] == 0 and bounds[-1][1] == m
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
        assert max(b - a for a, b in bounds) - min(b - a for a, b in bounds) <= 1


@pytest.mark.parametrize("name", impls.DATA_PARALLEL)
def test_gradients_and_50_steps_equal_numpy_to_1e_12(problem, name):
    X, Y, params = problem
    ref, backend = impls.get_backend("numpy"), make_backend(name, workers=3)
    g, g0 = backend.gradients(params, X, Y), ref.gradients(params, X, Y)
    assert rel_error(np.concatenate([g[k].ravel() for k in g]), np.concatenate([g0[k].ravel() for k in g])) < 1e-12
    for k in g:
        assert rel_error(g0[k], g[k]) < 1e-12, k
    r, r0 = (b.train(params, X, Y, learning_rate=1.2, iterations=50, record_every=10) for b in (backend, ref))
    for k in params:
        assert rel_error(r0.params[k], r.params[k]) < 1e-12, k
    assert [c for _, c in r.costs] == pytest.approx([c for _, c in r0.costs], rel=1e-12)


def test_more_workers_than_examples_still_gives_the_mean(problem):
    X, Y, params = problem
    X, Y = X[:, :2], Y[:, :2]  # rank 2's shard is empty
    g0 = impls.get_backend("numpy").gradients(params, X, Y)
    for name in impls.DATA_PARALLEL:
        g = make_backend(name, workers=3).gradients(params, X, Y)
        assert all(rel_error(g0[k], g[k]) < 1e-12 for k in g), name


def test_they_are_listed_only_when_asked_for():
    assert not set(impls.available_backends()) & set(impls.DATA_PARALLEL)  # the default run, bench, loops
    assert impls.available_backends(data_parallel=True) == impls.available_backends() + list(impls.DATA_PARALLEL)


def test_single_process_backends_refuse_workers():
    with pytest.raises(ValueError, match="the numpy backend runs in one process; workers=3 is for"):
        impls.get_backend("numpy", workers=3)
    with pytest.raises(ValueError, match="workers must be a whole number >= 1"):
        impls.get_backend("torch-ddp", workers=0)


@pytest.mark.slow
def test_jax_sharded_with_too_few_devices_says_how_to_get_them():
    code = ("import impls\ntry:\n    impls.get_backend('jax-sharded', workers=3)\n"
            "except ValueError as e:\n    print(e)")
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = run_process([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "workers=3 needs 3 CPU devices, JAX has 1" in out.stdout
    assert "XLA_FLAGS=--xla_force_host_platform_device_count=3" in out.stdout


def test_jax_sharded_splits_the_examples_and_xla_reduces_them(problem):
    pytest.importorskip("jax")
    X, Y, params = problem
    backend = make_backend("jax-sharded", workers=3)
    p, Xs, Ys, w = backend._shard({k: backend._asarray(v) for k, v in params.items()}, backend._asarray(X),
                                  backend._asarray(Y))
    assert len(Xs.sharding.device_set) == 3 and Xs.shape[1] == 402 and float(w.sum()) == M
    hlo = type(backend)._sharded_gradients.lower(backend, p, Xs, Ys, w, M).compile().as_text()
    assert "all-reduce" in hlo


# The porting bugs, planted in copies of the workers' code: each must fail the comparison.

class MeanOfShardMeans(Replica):
    @classmethod
    def shard_cost(cls, model, p, X, Y, m):  # each shard's own mean, averaged over the workers
        return cross_entropy(model._forward(p, X)["Z2"], Y) / dist.get_world_size()


class SumOverWorkers(Replica):
    @classmethod
    def shard_cost(cls, model, p, X, Y, m):  # each shard's own mean, summed by the all-reduce
        return cross_entropy(model._forward(p, X)["Z2"], Y)


class NoAllReduce(Replica):
    @classmethod
    def shard_cost(cls, model, p, X, Y, m):
        return cross_entropy(model._forward(p, X)["Z2"], Y)

    @classmethod
    def all_reduce(cls, grads):  # each worker keeps its own shard's gradient
        return grads


class NoBroadcast(Replica):
    @classmethod
    def start(cls, p, rank):  # each worker keeps the initial weights it made itself
        return p


class RaisesOnRank1(Replica):
    @classmethod
    def start(cls, p, rank):
        if rank == 1:
            raise ArithmeticError("planted failure")
        return super().start(p, rank)


def planted(replica):
    return type(f"Planted{replica.__name__}", (TorchDDPBackend,), {"_replica": replica})(workers=3)


def compare(backend, problem):
    X, Y, params = problem
    return compare_backends([impls.get_backend("numpy"), backend], params, X, Y, learning_rate=1.2,
                            iterations=40, checkpoint_every=20, steps=5)


def test_the_correct_backends_pass_the_same_comparison(problem):
    for name in impls.DATA_PARALLEL:
        report = compare(make_backend(name, workers=3), problem)
        assert report.ok, str(report)


@pytest.mark.parametrize("replica, failing", [
    (MeanOfShardMeans, {"cost", "gradient", "training steps"}),
    (SumOverWorkers, {"cost", "gradient", "training steps"}),
    (NoAllReduce, {"cost", "gradient", "training steps"}),
    (NoBroadcast, {"cost", "gradient", "training steps"}),
])
def test_each_planted_porting_bug_fails_the_comparison(problem, replica, failing):
    report = compare(planted(replica), problem)
    assert not report.ok
    failed = {c.section for c in report.checks if not c.ok}
    assert failing <= failed, str(report)
    if replica is SumOverWorkers:  # 3× the gradient, but for the shards' slightly unequal sizes
        X, Y, params = problem
        g, g0 = (np.concatenate([v.ravel() for v in b.gradients(params, X, Y).values()])
                 for b in (planted(replica), impls.get_backend("numpy")))
        assert rel_error(g, 3 * g0) < 1e-2


def jax_planted(shard_costs):
    """jax-sharded with the cost built from per-shard sums by `shard_costs(sums, counts)`."""
    jax = pytest.importorskip("jax")
    from impls.backends.jax import JaxBackend
    from impls.backends.jax import cross_entropy as jax_cross_entropy
    from impls.parallel.jax_sharded import JaxShardedBackend, per_example

    class Planted(JaxShardedBackend):
        @functools.partial(jax.jit, static_argnums=(0, 5))
        def _sharded_cost(self, p, X, Y, weight, m):
            terms = weight * per_example(jax_cross_entropy)(JaxBackend._forward(self, p, X)["Z2"], Y)
            return shard_costs(terms.reshape(self.workers, -1).sum(1), weight.reshape(self.workers, -1).sum(1))
    return Planted(workers=3)


@pytest.mark.parametrize("bug, shard_costs", [
    ("mean of shard means", lambda sums, counts: (sums / counts).mean()),
    ("sum over workers", lambda sums, counts: (sums / counts).sum()),
    ("no reduction: the first device's shard only", lambda sums, counts: sums[0] / counts[0]),
])
def test_each_planted_porting_bug_fails_the_comparison_in_jax_too(problem, bug, shard_costs):
    if bug == "mean of shard means":  # the control: the same plumbing with the right reduction passes
        assert compare(jax_planted(lambda sums, counts: sums.sum() / counts.sum()), problem).ok
    report = compare(jax_planted(shard_costs), problem)
    assert not report.ok
    assert {"cost", "gradient", "training steps"} <= {c.section for c in report.checks if not c.ok}, str(report)


def test_no_broadcast_leaves_the_workers_apart(problem):
    X, Y, params = problem
    with pytest.raises(RuntimeError, match="the workers' parameters differ after training"):
        planted(NoBroadcast).train(params, X, Y, learning_rate=1.2, iterations=3)


@pytest.mark.slow
def test_the_command_line_compares_them_with_workers_and_gives_jax_its_devices(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # the command line must set it
    out = run_compare("--backends", "numpy,torch-ddp,jax-sharded", "--workers", "3", "--dataset", "moons",
                      "--iterations", "200", "--no-plots", "--json", tmp_path / "r.json", timeout=600, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checks pass: the backends compute the same map" in out.stdout


@pytest.mark.slow
@pytest.mark.parametrize("args, named", [(["train", "--backend", "numpy"], "numpy runs"),
                                         (["run", "--backends", "numpy,torch"], "numpy, torch run")])
def test_workers_without_a_data_parallel_backend_is_one_line_exit_2_on_run_and_train(args, named):
    """Issue 15 item 12: one rule for both commands."""
    out = run_compare(*args, "--workers", "2", timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [f"python -m compare: error: --workers 2 is for the data-parallel backends "
                                       f"torch-ddp and jax-sharded; {named} in one process"]


def test_the_header_and_trains_first_line_say_how_many_workers_ran(capsys):
    from compare.cli import main
    assert main(["--backends", "numpy,torch-ddp", "--workers", "2", "--iterations", "20", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "Comparing numpy, torch-ddp (2 workers)" in out
    assert "backprop-compare: numpy (reference) against torch-ddp (2 workers)" in out
    assert main(["train", "--backend", "torch-ddp", "--workers", "2", "--iterations", "20"]) == 0
    assert capsys.readouterr().out.startswith("Training the torch-ddp backend on 2 workers (tanh, float64)")


@pytest.mark.slow
@pytest.mark.parametrize("backend, workers", [("jax-sharded", "1000000000"), ("torch-ddp", "1000000")])
def test_more_workers_than_the_machine_can_hold_is_refused_before_anything_starts(backend, workers):
    """Issue 15 item 10: 10⁹ JAX devices took over 6 GB in 10 s; 40 torch workers over 3 GB."""
    out = run_compare("--backends", f"numpy,{backend}", "--workers", workers, "--no-plots", timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and out.stdout == "", out.stderr
    assert f"{backend} with workers={workers} needs about" in out.stderr and "available" in out.stderr
    with pytest.raises(ValueError, match=f"{backend} with workers={workers} needs about"):
        impls.get_backend(backend, workers=int(workers))


# No worker outlives a run, a failure or Ctrl-C.

def test_a_failing_worker_is_named_and_every_worker_stopped(problem):
    X, Y, params = problem
    workers = [p.pid for p in local_group(3, "cpu").procs]
    assert len(workers) == 3 and all(map(alive, workers))
    with pytest.raises(WorkerFailed, match="torch-ddp worker rank 1 failed: ArithmeticError: planted failure"):
        planted(RaisesOnRank1).gradients(params, X, Y)
    assert not [p for p in workers if alive(p)]
    g = make_backend("torch-ddp", workers=3).gradients(params, X, Y)  # and the next call starts a fresh one
    assert np.isfinite(g["dW1"]).all()


RUN = ("import os, impls, numpy as np\n"
       "b = impls.get_backend('torch-ddp', workers=2)\n"
       "b.train(impls.init_params(2, 3), np.ones((2, 5)), np.ones((1, 5)), learning_rate=0.1, iterations=5)\n"
       "def kids(p): return [e for e in os.listdir('/proc') if e.isdigit() and "
       "open(f'/proc/{e}/stat').read().rsplit(')', 1)[1].split()[1] == str(p)]\n"
       "print(*[w for s in kids(os.getpid()) for w in kids(s)], flush=True)\n")  # the workers, under supervisors


def test_a_worker_killed_during_train_is_named_with_its_signal(problem):
    X, Y, params = problem
    group = local_group(2, "cpu")
    threading.Timer(2.0, lambda: os.kill(group.procs[1].pid, signal.SIGKILL)).start()
    with pytest.raises(WorkerFailed, match="^torch-ddp worker rank 1 was killed by SIGKILL$"):
        make_backend("torch-ddp", workers=2).train(params, X, Y, learning_rate=0.1, iterations=10**9)
    assert not [p for p in group.procs if alive(p.pid)]


def training(workers):
    """`compare train` with torch-ddp for ever, started for a with-block that kills it and its workers at its end."""
    return started([sys.executable, "-m", "compare", "train", "--backend", "torch-ddp", "--workers", str(workers),
                    "--iterations", "100000000", "--print-every", "100000"], stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
def test_a_worker_killed_during_train_on_the_command_line_is_one_line_exit_1():
    with training(workers=2) as proc:
        assert "Cost after iteration 0" in next(line for line in proc.stdout if "Cost after" in line)
        workers = workers_of(proc.pid)
        os.kill(workers[0], signal.SIGKILL)  # the other's all-reduce then fails too: the death is the cause named
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("python -m compare: error: torch-ddp worker rank ")
    assert err.strip().endswith(" was killed by SIGKILL")
    assert not [p for p in workers if alive(p)]


def test_a_group_started_from_a_helper_thread_outlives_the_thread(problem):
    """PR_SET_PDEATHSIG fires when the *thread* that started a worker exits: one thread starts them all."""
    X, Y, params = problem
    backend, first = make_backend("torch-ddp", workers=2), []
    helper = threading.Thread(target=lambda: first.append(backend.gradients(params, X, Y)))
    helper.start()
    helper.join()
    time.sleep(0.5)  # had the workers died with the thread, the next call would find their pipes closed
    again = backend.gradients(params, X, Y)
    assert all(np.array_equal(again[k], first[0][k]) for k in again)


@pytest.mark.slow
def test_no_worker_outlives_a_run():
    out = run_process([sys.executable, "-c", RUN], capture_output=True, text=True, timeout=300, check=True)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    assert not [p for p in pids if alive(p)]


@pytest.mark.slow
def test_no_worker_outlives_its_parent_killed():
    with started([sys.executable, "-c", RUN + "import time; time.sleep(600)\n"], stdout=subprocess.PIPE,
                 text=True) as proc:
        pids = [int(p) for p in proc.stdout.readline().split()]
        proc.kill()  # SIGKILL: no atexit, no finally
        proc.wait()
    deadline = time.monotonic() + 10
    while [p for p in pids if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(pids) == 2 and not [p for p in pids if alive(p)]


@pytest.mark.slow
def test_ctrl_c_stops_the_command_line_and_its_workers(tmp_path):
    with training(workers=3) as proc:  # a timeout here once left it and its workers running for an hour
        assert "Cost after iteration 0" in next(line for line in proc.stdout if "Cost after" in line)
        workers = workers_of(proc.pid)
        assert len(workers) == 3
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert not [p for p in workers if alive(p)]


TORCHRUN_SCRIPT = """
import sys, numpy as np, torch.distributed as dist, impls
dist.init_process_group("gloo")
X = np.random.RandomState(0).randn(2, 11); Y = (X[:1] > 0).astype(float)
params = impls.init_params(2, 3, seed=dist.get_rank(), scale=0.5)  # each rank its own: rank 0's win
backend = impls.get_backend("torch-ddp")
g, r = backend.gradients(params, X, Y), backend.train(params, X, Y, learning_rate=0.5, iterations=20)
ref = impls.get_backend("numpy")
p0 = impls.init_params(2, 3, seed=0, scale=0.5)
g0, r0 = ref.gradients(p0, X, Y), ref.train(p0, X, Y, learning_rate=0.5, iterations=20)
worst = max(max(np.abs(g[k] - g0[k]).max() for k in g), max(np.abs(r.params[k] - r0.params[k]).max() for k in p0))
with open(f"{sys.argv[1]}/rank{dist.get_rank()}", "w") as f:  # a file per rank: no shared pipe to lose a line in
    f.write(f"rank {dist.get_rank()} of {backend.workers}: {worst:.1e}")
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_under_torchrun_it_uses_the_given_group(tmp_path):
    """Issue 15 item 13: independent of what else runs here. --standalone rendezvous on a port the system picks
    and the agent holds; each rank writes its own file; one thread per rank, a generous time limit."""
    script, results = tmp_path / "ddp_script.py", tmp_path / "results"
    script.write_text(TORCHRUN_SCRIPT)
    results.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "TORCHELASTIC_RUN_ID"):
        env.pop(name, None)  # a torchrun around the test run must not leak its group into this one
    out = run_process([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                       "--max-restarts", "0", str(script), str(results)], capture_output=True, text=True,
                      timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [(results / f"rank{r}").read_text() for r in (0, 1)]
    assert [line.split(":")[0] for line in lines] == ["rank 0 of 2", "rank 1 of 2"], out.stdout + out.stderr
    assert all(float(line.split(": ")[1]) < 1e-14 for line in lines)
