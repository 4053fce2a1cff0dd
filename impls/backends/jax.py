"""JAX: the same forward pass, for two layers and, as a loop over layers, for any depth; gradients from jax.grad,
the training loop compiled into one lax loop."""
from functools import partial

import jax
import numpy as np

# Without x64, JAX silently computes float64 arrays in float32. Every array here is cast to the
# dtype asked for, so float32 runs stay float32 with x64 on.
jax.config.update("jax_enable_x64", True)
# On a GPU, JAX's default float32 matmul rounds inputs to TF32 (10-bit mantissa): ask for full float32.
jax.config.update("jax_default_matmul_precision", "highest")
import jax.numpy as jnp  # noqa: E402

from impls.base import Backend  # noqa: E402


def cross_entropy(Z2, Y):
    # -[Y log σ(Z2) + (1-Y) log(1-σ(Z2))] = log(1 + e^Z2) - Y·Z2: finite even where σ(Z2) rounds to 0 or 1.
    # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|), logaddexp(0, z)'s own formula written out: jnp.logaddexp's
    # custom derivative costs three transcendentals per example, this one's one (docs/performance.md).
    # -|z| as min(z, -z): at z = 0, where the two kinks meet, jax.grad then splits each tie evenly and
    # gives the slope σ(0) = 1/2 (with jnp.abs it would give 0).
    return jnp.sum(jnp.maximum(Z2, 0) + jnp.log1p(jnp.exp(jnp.minimum(Z2, -Z2))) - Y * Z2) / Z2.shape[1]


ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "sigmoid": jax.nn.sigmoid,
    # not jax.nn.leaky_relu: its slope at exactly 0 is 1, where NumPy's and torch's is 0.01
    "leaky_relu": lambda Z: jnp.where(Z > 0, Z, 0.01 * Z),
}


def resolve_device(device):
    if device is None:
        return jax.devices()[0]
    platform, _, index = str(device).partition(":")
    platform = {"cuda": "gpu"}.get(platform, platform)
    if platform not in ("cpu", "gpu") or (index and not index.isdigit()):
        raise ValueError(f"unknown JAX device {device!r}; use 'cpu', 'gpu', 'cuda' or 'cuda:N'")
    try:
        devices = jax.devices(platform)
    except RuntimeError:
        raise ValueError(f"device {device!r} asked for, but JAX finds no {platform.upper()} "
                         "(a CPU-only jaxlib is installed, or no GPU is present)") from None
    if int(index or 0) >= len(devices):
        raise ValueError(f"device {device!r} asked for, but JAX finds {len(devices)} {platform.upper()}(s)")
    return devices[int(index or 0)]


def aligned(a, alignment=64):
    """`a`, or a C-ordered copy of it starting at a multiple of `alignment` bytes.

    XLA on the CPU reads such an array in place and copies any other, more slowly than NumPy copies
    (docs/performance.md). NumPy allocates at 16 bytes.
    """
    if a.flags.c_contiguous and a.ctypes.data % alignment == 0:
        return a
    buffer = np.empty(a.nbytes + alignment, dtype=np.uint8)
    start = -buffer.ctypes.data % alignment
    out = buffer[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


class JaxBackend(Backend):
    name = "jax"

    def __init__(self, *, activation="tanh", dtype="float64", device=None, workers=1):
        super().__init__(activation=activation, dtype=dtype, device=device, workers=workers)
        self.g1 = ACTIVATIONS[activation]
        self._device = resolve_device(device)

    def _asarray(self, a):
        a = np.asarray(a, dtype=self.dtype)
        if self._device.platform == "cpu":
            a = aligned(a)
        return jax.device_put(a, self._device)

    def _numpy(self, a):
        return np.asarray(a)

    @partial(jax.jit, static_argnums=0)
    def _forward(self, p, X):
        Z1 = p["W1"] @ X + p["b1"]                                  # F1
        A1 = self.g1(Z1)                                            # F2
        Z2 = p["W2"] @ A1 + p["b2"]                                 # F3
        A2 = jax.nn.sigmoid(Z2)                                     # F4
        return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}

    @partial(jax.jit, static_argnums=0)
    def _cost(self, p, X, Y):
        return cross_entropy(self._forward(p, X)["Z2"], Y)

    @partial(jax.jit, static_argnums=0)
    def _gradients(self, p, X, Y):
        grads = jax.grad(self._cost)(p, X, Y)
        return {"d" + k: dw for k, dw in grads.items()}

    @partial(jax.jit, static_argnums=0)
    def _intermediates(self, p, X, Y):
        # Reverse mode stage by stage: jax.vjp gives each stage's pullback, and pulling ∂J/∂J = 1
        # back through them yields autograd's own ∂J/∂Z2, ∂J/∂A1, ∂J/∂Z1 (times m: the course's dZ).
        Z1 = p["W1"] @ X + p["b1"]
        A1, g1_pullback = jax.vjp(self.g1, Z1)
        Z2, F3_pullback = jax.vjp(lambda A1: p["W2"] @ A1 + p["b2"], A1)
        J, J_pullback = jax.vjp(lambda Z2: cross_entropy(Z2, Y), Z2)
        (dZ2,) = J_pullback(jnp.ones_like(J))
        (dA1,) = F3_pullback(dZ2)
        (dZ1,) = g1_pullback(dA1)
        m = X.shape[1]
        return {"dZ2": m * dZ2, "dA1": m * dA1, "dZ1": m * dZ1}

    @partial(jax.jit, static_argnums=0)
    def _train(self, p, X, Y, learning_rate, n):
        def step(_, p):
            grads = self._gradients(p, X, Y)
            return {k: w - learning_rate * grads["d" + k] for k, w in p.items()}
        return jax.lax.fori_loop(0, n, step, p)

    # Any other depth: the same lines in a loop over the layers, F1 F2 for each hidden one, F3 F4 for the output.
    # jit traces once per depth and shapes: the loop is unrolled into one XLA program.
    @partial(jax.jit, static_argnums=0)
    def _deep_forward(self, p, X):
        cache, A, L = {}, X, len(p) // 2
        for l in range(1, L + 1):
            Z = p[f"W{l}"] @ A + p[f"b{l}"]                         # F1 F3
            A = self.g1(Z) if l < L else jax.nn.sigmoid(Z)          # F2 F4
            cache[f"Z{l}"], cache[f"A{l}"] = Z, A
        return cache

    @partial(jax.jit, static_argnums=0)
    def _deep_cost(self, p, X, Y):
        return cross_entropy(self._deep_forward(p, X)[f"Z{len(p) // 2}"], Y)

    @partial(jax.jit, static_argnums=0)
    def _deep_gradients(self, p, X, Y):
        grads = jax.grad(self._deep_cost)(p, X, Y)
        return {"d" + k: dw for k, dw in grads.items()}

    @partial(jax.jit, static_argnums=0)
    def _deep_intermediates(self, p, X, Y):
        # As for two layers: each stage's pullback from jax.vjp, then ∂J/∂J = 1 pulled back through them,
        # layer by layer, yields autograd's own ∂J/∂Z_l and ∂J/∂A_l (times m: the course's dZ, dA).
        L = len(p) // 2
        Z = p["W1"] @ X + p["b1"]
        g_pullbacks, linear_pullbacks = {}, {}
        for l in range(2, L + 1):
            A, g_pullbacks[l - 1] = jax.vjp(self.g1, Z)
            Z, linear_pullbacks[l] = jax.vjp(lambda A, l=l: p[f"W{l}"] @ A + p[f"b{l}"], A)
        J, J_pullback = jax.vjp(lambda Z: cross_entropy(Z, Y), Z)
        (dZ,) = J_pullback(jnp.ones_like(J))
        inner = {f"dZ{L}": dZ}
        for l in range(L - 1, 0, -1):
            (inner[f"dA{l}"],) = linear_pullbacks[l + 1](inner[f"dZ{l + 1}"])
            (inner[f"dZ{l}"],) = g_pullbacks[l](inner[f"dA{l}"])
        m = X.shape[1]
        return {k: m * v for k, v in inner.items()}

    @partial(jax.jit, static_argnums=0)
    def _deep_train(self, p, X, Y, learning_rate, n):
        def step(_, p):
            grads = self._deep_gradients(p, X, Y)
            return {k: w - learning_rate * grads["d" + k] for k, w in p.items()}
        return jax.lax.fori_loop(0, n, step, p)
