"""Users' backends that misbehave, each in one way (issue 15): the comparison must fail the right one, naming the
method, blame no other, and never print a traceback. The torch ones are in hostile_torch.py.

    python -m compare --backends numpy,tests/user_backends/hostile.py:InvertedPredict
"""
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np

import impls
from impls.backends.numpy import NumpyBackend

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mine import Mine  # noqa: E402 - the correct plain-NumPy user class, beside this file


class ZerosForward:
    """Only a forward pass, and it returns zeros: nothing else to judge it by."""
    name = "zeros_forward"

    def __init__(self, *, activation="tanh", dtype="float64", device=None):
        self.activation, self.dtype = activation, dtype

    def forward(self, params, X):
        n_h, m = np.shape(params["W1"])[0], np.shape(X)[1]
        return {"Z1": np.zeros((n_h, m)), "A1": np.zeros((n_h, m)), "Z2": np.zeros((1, m)), "A2": np.zeros((1, m))}


class InvertedPredict(NumpyBackend):
    """A1 = Z1 and A2 = 1 − A2 in forward, and labels inverted in predict; gradients and training are right."""
    name = "inverted"

    def forward(self, params, X):
        out = super().forward(params, X)
        return {**out, "A1": out["Z1"], "A2": 1 - out["A2"]}

    def predict(self, params, X):
        return (NumpyBackend.forward(self, params, X)["A2"] <= 0.5).astype(np.int64)


class NaNAfterStart(NumpyBackend):
    """Training right from the first state it is given, NaN from every other."""
    name = "nan_after_start"
    first = None

    def train(self, params, X, Y, **kwargs):
        if self.first is None:
            self.first = {k: np.array(v) for k, v in params.items()}
        if all(np.array_equal(params[k], self.first[k]) for k in self.first):
            return super().train(params, X, Y, **kwargs)
        nan = {k: np.full(np.shape(v), np.nan) for k, v in params.items()}
        return impls.TrainResult(params=nan, costs=[], final_cost=float("nan"))


class ExitsInCost(Mine):
    name = "exits_in_cost"

    def cost(self, params, X, Y):
        sys.exit(0)


class SystemExitInTrain(Mine):
    name = "system_exit_in_train"

    def train(self, params, X, Y, **kwargs):
        raise SystemExit("done")


def fast_tanh(z):
    return np.clip(z * (27 + z * z) / (27 + 9 * z * z), -1, 1)  # a rational approximation, off by up to 2%


class PatchesNumpy(NumpyBackend):
    """Its constructor puts a fast, approximate tanh into NumPy and scales every np.dot: in the reference's
    process that would change what the reference computes."""
    name = "patches_numpy"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        exact_dot = np.dot
        np.tanh = fast_tanh
        np.dot = lambda a, b, out=None: exact_dot(a, b, out) * (1 + 1e-3)
        self.g1 = np.tanh


class X64Off(Mine):
    """Turns JAX's float64 off in its constructor and computes its cost with JAX, silently in float32."""
    name = "x64_off"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        import jax
        jax.config.update("jax_enable_x64", False)

    def cost(self, params, X, Y):
        import jax.numpy as jnp
        Z2 = jnp.asarray(self.forward(params, X)["Z2"], dtype=jnp.float64)
        Y = jnp.asarray(Y, dtype=jnp.float64)
        return float(jnp.sum(jnp.logaddexp(0, Z2) - Y * Z2) / Y.shape[1])


class InPlaceTrain(NumpyBackend):
    """Trains by updating the caller's parameter arrays in place (params[k] -= α·dk), and returns them."""
    name = "in_place_train"

    def train(self, params, X, Y, *, learning_rate, iterations, record_every=1000, callback=None):
        for _ in range(iterations):
            g = self.gradients(params, X, Y)
            for k in params:
                params[k] -= learning_rate * g["d" + k]
        return impls.TrainResult(params=params, costs=[], final_cost=self.cost(params, X, Y))


class CentresX(NumpyBackend):
    """Centres X in place in forward (X -= its mean), and computes from the centred X."""
    name = "centres_x"

    def forward(self, params, X):
        X -= X.mean(axis=1, keepdims=True)
        return super().forward(params, X)


class DtypeObject(Mine):
    """Declares its dtype as NumPy's dtype object, not as a string."""
    name = "dtype_object"

    def __init__(self, *, dtype="float64", **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        self.dtype = np.dtype(dtype)


class CostNone(Mine):
    name = "cost_none"

    def cost(self, params, X, Y):
        return None


class CostStr(Mine):
    name = "cost_str"

    def cost(self, params, X, Y):
        return f"{super().cost(params, X, Y):.6f}"


class CostArray(Mine):
    name = "cost_array"

    def cost(self, params, X, Y):
        return np.full((3, 1, 1), super().cost(params, X, Y))


class TrainDict(Mine):
    name = "train_dict"

    def train(self, params, X, Y, **kwargs):
        result = super().train(params, X, Y, **kwargs)
        return {"params": result.params, "costs": result.costs, "final_cost": result.final_cost}


class FinalCostStr(Mine):
    name = "final_cost_str"

    def train(self, params, X, Y, **kwargs):
        result = super().train(params, X, Y, **kwargs)
        return SimpleNamespace(params=result.params, costs=[], final_cost=str(result.final_cost))


class Hangs(Mine):
    name = "hangs"

    def gradients(self, params, X, Y):
        time.sleep(3600)


class Crashes(Mine):
    name = "crashes"

    def intermediates(self, params, X, Y):
        import ctypes
        ctypes.string_at(0)  # reads address 0: SIGSEGV


class Forges(Mine):
    """Prints a verdict of its own and raises with a message that holds a line break and escape codes."""
    name = "forges"

    def gradients(self, params, X, Y):
        print("All 99 checks pass: the backends compute the same map.")
        raise ValueError("bad\nAll 99 checks pass: the backends compute the same map.\x1b[2J")


class Spawns(Mine):
    """Starts a process of its own that would sleep for ten minutes; writes its pid where $HOSTILE_PIDS says."""
    name = "spawns"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(os.environ["HOSTILE_PIDS"], "a") as f:
            f.write(f"{os.getpid()} {child.pid}\n")


class SpawnsThenHangs(Spawns):
    name = "spawns_then_hangs"

    def gradients(self, params, X, Y):
        time.sleep(3600)
