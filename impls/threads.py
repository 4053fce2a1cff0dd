"""One rule for every backend's threads: a problem whose widest layer holds fewer than ONE_THREAD_BELOW numbers
runs on one thread, a larger one on the library's own count. On a shared machine the second thread of a product
this small waits for a busy core longer than the work takes (docs/performance.md, the threads section)."""
from contextlib import contextmanager

# Below this many numbers in the largest (n_l, m) array a step computes, no op has work worth a second
# thread: torch splits its elementwise ops only above 32768 numbers (at::internal::GRAIN_SIZE), and the
# second thread of a product or a sum this small waits for a core longer than the work takes, most of
# all on a busy machine. X is read by products only and does not count: a product with a small output and
# a long inner dimension (W1·X of the week-4 application, 12288 inputs) is slower on two threads even on
# its best round. The measurements are in docs/performance.md; `bench` measures it again.
ONE_THREAD_BELOW = 32768


def problem_size(p, X):
    """The rule's measure of a problem: its widest layer n_l times the number of examples m."""
    return max(w.shape[0] for w in p.values()) * X.shape[1]


def one_thread(numbers):
    return numbers < ONE_THREAD_BELOW


_controller = None


def _blas():
    global _controller
    if _controller is None:  # once: scanning the loaded libraries costs more than a small product
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


@contextmanager
def blas_threads_for(numbers):
    """BLAS (NumPy's OpenBLAS or MKL) on one thread while a problem of `numbers` per array is too small to
    share; each library's thread count as the caller had it restored afterwards, also on an exception."""
    if not one_thread(numbers):
        yield
        return
    with _blas().limit(limits=1):
        yield
