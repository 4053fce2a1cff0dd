"""PyTorch: the same forward pass, for two layers and, as a loop over layers, for any depth; every gradient
comes from torch.autograd, none is written by hand."""
import functools
from contextlib import contextmanager

import torch

from impls.base import Backend, intermediate_names
from impls.threads import ONE_THREAD_BELOW, one_thread, problem_size  # noqa: F401  (ONE_THREAD_BELOW: tests)


@contextmanager
def threads_for(numbers):
    """torch on one intra-op thread while a problem of `numbers` per array is too small to share;
    the caller's torch.get_num_threads() restored afterwards, also on an exception."""
    threads = torch.get_num_threads()
    if threads == 1 or not one_thread(numbers):
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def sized_threads(method):
    """method(self, p, X, ...) run under threads_for its problem's size: the widest layer n_l times m."""
    @functools.wraps(method)
    def run(self, p, X, *rest):
        with threads_for(problem_size(p, X)):
            return method(self, p, X, *rest)
    return run


def cross_entropy(Z2, Y):
    # -[Y log σ(Z2) + (1-Y) log(1-σ(Z2))] = log(1 + e^Z2) - Y·Z2: finite even where σ(Z2) rounds to 0 or 1.
    # softplus(z) = log(1 + e^z), NumPy's logaddexp(0, z) in 2 ops (forward and backward)
    # instead of 8. Above `threshold` it returns z itself, off by e^-z: exact from 37 on in float64 (the
    # default 20 is 2e-9 off). Not binary_cross_entropy_with_logits: it enters a 2-thread parallel region
    # even for 400 numbers, and on a busy machine waits for the second thread (docs/performance.md).
    return torch.sum(torch.nn.functional.softplus(Z2, threshold=40.0) - Y * Z2) / Z2.shape[1]


ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "leaky_relu": lambda Z: torch.nn.functional.leaky_relu(Z, 0.01),
}


def resolve_device(device):
    name = "cuda" if device == "gpu" else (device or "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown torch device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch finds no CUDA GPU on this machine")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} asked for, but torch finds {torch.cuda.device_count()} GPU(s)")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported torch device {device!r}; use 'cpu', 'cuda' or 'cuda:N'")
    return dev


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, *, activation="tanh", dtype="float64", device=None, workers=1):
        super().__init__(activation=activation, dtype=dtype, device=device, workers=workers)
        self.g1 = ACTIVATIONS[activation]
        self._device = resolve_device(device)
        self._dtype = getattr(torch, dtype)

    def _asarray(self, a):
        if not a.flags.writeable:  # torch warns on read-only memory (a memmap, JAX's arrays), though nothing writes
            a = a.copy()
        return torch.as_tensor(a, dtype=self._dtype, device=self._device)

    def _numpy(self, a):
        return a.detach().cpu().numpy()

    @sized_threads
    def _forward(self, p, X):
        Z1 = torch.addmm(p["b1"], p["W1"], X)                       # F1  b1 + W1 X, in one op
        A1 = self.g1(Z1)                                            # F2
        Z2 = torch.addmm(p["b2"], p["W2"], A1)                      # F3  b2 + W2 A1
        A2 = torch.sigmoid(Z2)                                      # F4
        return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}

    @sized_threads
    def _cost(self, p, X, Y):
        return cross_entropy(self._forward(p, X)["Z2"], Y)

    @sized_threads
    def _gradients(self, p, X, Y):
        p = {k: w.detach().requires_grad_() for k, w in p.items()}
        grads = torch.autograd.grad(self._cost(p, X, Y), list(p.values()))
        return {"d" + k: dw for k, dw in zip(p, grads)}

    @sized_threads
    def _intermediates(self, p, X, Y):
        # Autograd's own gradients at the graph's inner nodes, scaled by m to the course's dZ = m·∂J/∂Z.
        p = {k: w.detach().requires_grad_() for k, w in p.items()}
        cache = self._forward(p, X)
        inner = (cache["Z2"], cache["A1"], cache["Z1"])
        dZ2, dA1, dZ1 = torch.autograd.grad(cross_entropy(cache["Z2"], Y), inner)
        m = X.shape[1]
        return {"dZ2": m * dZ2, "dA1": m * dA1, "dZ1": m * dZ1}

    @sized_threads
    def _train(self, p, X, Y, learning_rate, n):
        p = {k: w.detach().clone().requires_grad_() for k, w in p.items()}  # clone: never update the caller's arrays
        params = list(p.values())
        for _ in range(n):
            grads = torch.autograd.grad(self._cost(p, X, Y), params)
            with torch.no_grad():
                torch._foreach_add_(params, grads, alpha=-learning_rate)  # θ := θ − α·dθ, all four in one op
        return {k: w.detach() for k, w in p.items()}

    # Any other depth: the same lines in a loop over the layers, F1 F2 for each hidden one, F3 F4 for the output.
    @sized_threads
    def _deep_forward(self, p, X):
        cache, A, L = {}, X, len(p) // 2
        for l in range(1, L + 1):
            Z = torch.addmm(p[f"b{l}"], p[f"W{l}"], A)              # F1 F3  b_l + W_l A_{l−1}, in one op
            A = self.g1(Z) if l < L else torch.sigmoid(Z)           # F2 F4
            cache[f"Z{l}"], cache[f"A{l}"] = Z, A
        return cache

    @sized_threads
    def _deep_cost(self, p, X, Y):
        return cross_entropy(self._deep_forward(p, X)[f"Z{len(p) // 2}"], Y)

    @sized_threads
    def _deep_gradients(self, p, X, Y):
        p = {k: w.detach().requires_grad_() for k, w in p.items()}
        grads = torch.autograd.grad(self._deep_cost(p, X, Y), list(p.values()))
        return {"d" + k: dw for k, dw in zip(p, grads)}

    @sized_threads
    def _deep_intermediates(self, p, X, Y):
        # Autograd's own gradients at every Z_l and A_l (l < L), scaled by m to the course's dZ = m·∂J/∂Z.
        p = {k: w.detach().requires_grad_() for k, w in p.items()}
        cache = self._deep_forward(p, X)
        names = intermediate_names(len(p) // 2)
        inner = torch.autograd.grad(cross_entropy(cache[f"Z{len(p) // 2}"], Y), [cache[k[1:]] for k in names])
        m = X.shape[1]
        return {k: m * g for k, g in zip(names, inner)}

    @sized_threads
    def _deep_train(self, p, X, Y, learning_rate, n):
        p = {k: w.detach().clone().requires_grad_() for k, w in p.items()}  # clone: never update the caller's arrays
        params = list(p.values())
        for _ in range(n):
            grads = torch.autograd.grad(self._deep_cost(p, X, Y), params)
            with torch.no_grad():
                torch._foreach_add_(params, grads, alpha=-learning_rate)  # θ := θ − α·dθ, every layer in one op
        return {k: w.detach() for k, w in p.items()}
