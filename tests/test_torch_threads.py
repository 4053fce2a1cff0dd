"""torch on a busy machine: a problem too small to share runs on one intra-op thread, and the caller's
thread setting comes back afterwards, also after an error. (Speed itself is the bench's to report.)"""
import pytest

from conftest import deep_problem, nondegenerate_problem

torch = pytest.importorskip("torch")
from impls import get_backend  # noqa: E402
from impls.backends.torch import ONE_THREAD_BELOW, threads_for  # noqa: E402


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def spying_backend(seen, fail=False):
    """A torch backend whose activation records the thread count it runs under (and fails, if asked)."""
    backend = get_backend("torch")

    def g1(Z):
        seen.append(torch.get_num_threads())
        if fail:
            raise RuntimeError("planted")
        return torch.tanh(Z)
    backend.g1 = g1
    return backend


def test_the_courses_run_trains_on_one_thread_and_gives_the_callers_setting_back(two_threads):
    seen = []
    X, Y, params = nondegenerate_problem(2, 4, 1, 400)
    backend = spying_backend(seen)
    backend.train(params, X, Y, learning_rate=1.2, iterations=3)
    backend.gradients(params, X, Y)
    backend.intermediates(params, X, Y)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2


def test_a_problem_large_enough_to_share_keeps_the_callers_threads(two_threads):
    seen = []
    m = ONE_THREAD_BELOW // 4  # n_h = 4: (4, m) arrays of exactly the threshold
    X, Y, params = nondegenerate_problem(2, 4, 1, m)
    spying_backend(seen).gradients(params, X, Y)
    assert seen == [2]
    seen.clear()
    X, Y, params = nondegenerate_problem(2, 4, 1, m - 1)
    spying_backend(seen).gradients(params, X, Y)
    assert seen == [1]


def test_a_deep_network_counts_its_widest_layer_not_its_inputs(two_threads):
    # the week-4 application's shape in miniature: many inputs, narrow layers; X is read by products only
    seen = []
    X, Y, params = deep_problem([ONE_THREAD_BELOW, 5, 3, 1], 4)
    spying_backend(seen).train(params, X, Y, learning_rate=0.01, iterations=2)
    assert seen and set(seen) == {1} and torch.get_num_threads() == 2
    seen.clear()
    X, Y, params = deep_problem([3, 5, ONE_THREAD_BELOW // 4, 1], 4)  # a layer (n_l, m) at the threshold
    spying_backend(seen).gradients(params, X, Y)
    assert seen and set(seen) == {2}


def test_the_setting_comes_back_after_an_error(two_threads):
    seen = []
    X, Y, params = nondegenerate_problem(2, 4, 1, 400)
    with pytest.raises(RuntimeError, match="planted"):
        spying_backend(seen, fail=True).train(params, X, Y, learning_rate=1.2, iterations=3)
    assert seen == [1] and torch.get_num_threads() == 2
    with pytest.raises(KeyError):
        with threads_for(10):
            assert torch.get_num_threads() == 1
            raise KeyError
    assert torch.get_num_threads() == 2


def test_a_caller_on_one_thread_stays_there():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threads_for(10 ** 9):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
