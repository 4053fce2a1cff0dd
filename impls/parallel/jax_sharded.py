"""JAX sharded: the examples' axis split over a mesh of N devices; jax.grad under jit, and XLA inserts
the reduction over devices that the mean over examples needs."""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from impls.backends.jax import JaxBackend, aligned, cross_entropy

def per_example(cost):
    """cost(Z2, Y) of each column alone: the mean over one example is its own term."""
    return jax.vmap(lambda z, y: cost(z[:, None], y[:, None]), in_axes=1)


class JaxShardedBackend(JaxBackend):
    name = "jax-sharded"
    data_parallel = True

    def __init__(self, *, activation="tanh", dtype="float64", device=None, workers=1):
        super().__init__(activation=activation, dtype=dtype, device=device, workers=workers)
        platform = self._device.platform
        devices = jax.devices(platform)
        if len(devices) < workers:
            hint = (f"; on a CPU, set XLA_FLAGS=--xla_force_host_platform_device_count={workers} in the "
                    "environment before JAX is first imported (python -m compare --workers N does it)"
                    if platform == "cpu" else "")
            raise ValueError(f"jax-sharded with workers={workers} needs {workers} {platform.upper()} devices, "
                             f"JAX has {len(devices)}{hint}")
        mesh = Mesh(np.array(devices[:workers]), ("examples",))
        self._columns = NamedSharding(mesh, PartitionSpec(None, "examples"))  # X, Y: examples split
        self._replicated = NamedSharding(mesh, PartitionSpec())                # θ: a copy on every device
        self._held = None

    def _asarray(self, a):
        a = np.array(a, dtype=self.dtype)  # a copy: the sharded copy of X is kept across train's chunks
        return aligned(a) if self._device.platform == "cpu" else a

    def _numpy(self, a):
        return np.asarray(a)

    def _shard(self, p, X, Y=None):
        """θ replicated; X, Y padded to a multiple of N columns and split; the weight row, 0 on padding."""
        if self._held is None or self._held[0] is not X or self._held[1] is not Y:
            m = X.shape[1]
            pad = -m % self.workers
            columns = [np.pad(X, ((0, 0), (0, pad))), None if Y is None else np.pad(Y, ((0, 0), (0, pad))),
                       np.pad(np.ones((1, m), dtype=self.dtype), ((0, 0), (0, pad)))]
            self._held = (X, Y, [None if a is None else jax.device_put(a, self._columns) for a in columns])
        p = {k: jax.device_put(w, self._replicated) for k, w in p.items()}
        return (p, *self._held[2])

    def _single(self, name, p):
        """The single-device JAX backend's hook for p's depth: its two-layer lines, or its deep loop."""
        return getattr(super(), name if len(p) == 4 else "_deep" + name)

    def _forward(self, p, X):
        out = self._single("_forward", p)(*self._shard(p, X)[:2])  # per example: the padding is cut off
        return {k: v[:, :X.shape[1]] for k, v in out.items()}

    def _cost(self, p, X, Y):
        return self._sharded_cost(*self._shard(p, X, Y), X.shape[1])

    def _gradients(self, p, X, Y):
        return self._sharded_gradients(*self._shard(p, X, Y), X.shape[1])

    def _intermediates(self, p, X, Y):
        # Per example, m·∂J/∂(·): the padded columns change no other column's values; they are cut off.
        p, Xs, Ys, _ = self._shard(p, X, Y)
        return {k: v[:, :X.shape[1]] for k, v in self._single("_intermediates", p)(p, Xs, Ys).items()}

    def _train(self, p, X, Y, learning_rate, n):
        return self._sharded_train(*self._shard(p, X, Y), X.shape[1], learning_rate, n)

    # Any depth: the single-device backend's two-layer or deep hooks, as the parameters say (_single).
    _deep_forward, _deep_cost, _deep_gradients = _forward, _cost, _gradients
    _deep_intermediates, _deep_train = _intermediates, _train

    @partial(jax.jit, static_argnums=(0, 5))
    def _sharded_cost(self, p, X, Y, weight, m):
        # Each example's term (the jax backend's cross_entropy of that column alone) weighted 1, or 0 on the
        # padding, summed over the true m: the mean over the m examples, exactly.
        ZL = self._single("_forward", p)(p, X)[f"Z{len(p) // 2}"]  # Z2 for two layers, ZL at any depth
        return jnp.sum(weight * per_example(cross_entropy)(ZL, Y)) / m

    @partial(jax.jit, static_argnums=(0, 5))
    def _sharded_gradients(self, p, X, Y, weight, m):
        grads = jax.grad(self._sharded_cost)(p, X, Y, weight, m)
        return {"d" + k: jax.lax.with_sharding_constraint(g, self._replicated) for k, g in grads.items()}

    @partial(jax.jit, static_argnums=(0, 5))
    def _sharded_train(self, p, X, Y, weight, m, learning_rate, n):
        def step(_, p):
            grads = self._sharded_gradients(p, X, Y, weight, m)
            return {k: w - learning_rate * grads["d" + k] for k, w in p.items()}
        return jax.lax.fori_loop(0, n, step, p)
