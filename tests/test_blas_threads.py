"""NumPy's BLAS on a busy machine: the numpy and tape backends run a problem too small to share on one BLAS
thread, a large one on the library's own count, and the caller's setting comes back afterwards, also after an
error. The rule is the torch backend's (impls/threads.py). (Speed itself is the bench's to report.)"""
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from conftest import deep_problem, nondegenerate_problem
from impls import get_backend
from impls.threads import ONE_THREAD_BELOW, blas_threads_for

BACKENDS = ["numpy", "tape"]


def blas_threads():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


@pytest.fixture
def two_threads():
    with threadpool_limits(2, user_api="blas"):
        if blas_threads() != {2}:
            pytest.skip("this BLAS cannot be set to 2 threads")
        yield


def spying(name, seen, fail=False):
    """The backend `name`, recording the BLAS thread counts each of its hooks runs under (and failing, if asked)."""
    backend = get_backend(name)
    hook_of = backend._hook

    def _hook(hook_name, p):
        hook = hook_of(hook_name, p)

        def run(*args):
            seen.append(blas_threads())
            if fail:
                raise RuntimeError("planted")
            return hook(*args)
        return run
    backend._hook = _hook
    return backend


@pytest.mark.parametrize("name", BACKENDS)
def test_the_courses_run_trains_on_one_thread_and_gives_the_callers_setting_back(name, two_threads):
    seen, in_callback = [], []
    X, Y, params = nondegenerate_problem(2, 4, 1, 400)
    backend = spying(name, seen)
    backend.train(params, X, Y, learning_rate=1.2, iterations=4, record_every=2,
                  callback=lambda i, cost: in_callback.append(blas_threads()))
    backend.gradients(params, X, Y)
    backend.intermediates(params, X, Y)
    backend.forward(params, X)
    assert len(seen) >= 8 and all(s == {1} for s in seen)
    assert in_callback == [{2}, {2}]  # the caller's own code runs on the caller's threads
    assert blas_threads() == {2}


@pytest.mark.parametrize("name", BACKENDS)
def test_a_problem_large_enough_to_share_keeps_the_callers_threads(name, two_threads):
    seen = []
    m = ONE_THREAD_BELOW // 4  # n_h = 4: (4, m) arrays of exactly the threshold
    X, Y, params = nondegenerate_problem(2, 4, 1, m)
    spying(name, seen).gradients(params, X, Y)
    assert seen == [{2}]
    seen.clear()
    X, Y, params = nondegenerate_problem(2, 4, 1, m - 1)
    spying(name, seen).gradients(params, X, Y)
    assert seen == [{1}] and blas_threads() == {2}


@pytest.mark.parametrize("name", BACKENDS)
def test_a_deep_network_counts_its_widest_layer_not_its_inputs(name, two_threads):
    # the week-4 application's shape in miniature: many inputs, narrow layers; X is read by products only
    seen = []
    X, Y, params = deep_problem([ONE_THREAD_BELOW, 5, 3, 1], 4)
    spying(name, seen).train(params, X, Y, learning_rate=0.01, iterations=2)
    assert seen and all(s == {1} for s in seen) and blas_threads() == {2}
    seen.clear()
    X, Y, params = deep_problem([3, 5, ONE_THREAD_BELOW // 4, 1], 4)  # a layer (n_l, m) at the threshold
    spying(name, seen).gradients(params, X, Y)
    assert seen == [{2}]


@pytest.mark.parametrize("name", BACKENDS)
def test_the_setting_comes_back_after_an_error(name, two_threads):
    seen = []
    X, Y, params = nondegenerate_problem(2, 4, 1, 400)
    with pytest.raises(RuntimeError, match="planted"):
        spying(name, seen, fail=True).train(params, X, Y, learning_rate=1.2, iterations=3)
    assert seen == [{1}] and blas_threads() == {2}
    with pytest.raises(KeyError):
        with blas_threads_for(10):
            assert blas_threads() == {1}
            raise KeyError
    assert blas_threads() == {2}


def test_a_caller_on_one_thread_stays_there():
    with threadpool_limits(1, user_api="blas"):
        with blas_threads_for(10 ** 9):
            assert blas_threads() == {1}
        with blas_threads_for(10):
            assert blas_threads() == {1}
        assert blas_threads() == {1}
