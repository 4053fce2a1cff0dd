"""The random problems `check` grades on, the reference values of the ten equations on them, and the job:
the calls the student's forward_propagation and backward_propagation get."""
import numpy as np

import impls

FORWARD_KEYS = ("Z1", "A1", "Z2", "A2")


def distinct_sizes_problem(rng):
    """A problem whose sizes are drawn and all differ (a transpose cannot fit by accident), with O(1) weights,
    non-zero biases and both classes.

    With the course's 0.01-scale weights tanh(Z1) ≈ Z1, and a mistake such as 1 − Z1² for 1 − A1²
    changes dW1 by 6e-6 of itself (on the planar data), below the digits the course prints; here Z1 is
    of order 1, where tanh is far from linear and the same mistake changes dW1 by 1e-1 or more.
    """
    n_x, n_h = (int(n) for n in rng.choice(np.arange(2, 8), size=2, replace=False))
    m = int(rng.randint(8, 15))
    X = rng.randn(n_x, m)
    Y = np.zeros((1, m))
    Y[0, rng.choice(m, size=m // 2, replace=False)] = 1  # both classes present

    def bias(n):
        return rng.uniform(0.3, 1.0, (n, 1)) * rng.choice([-1, 1], (n, 1))

    params = {"W1": rng.randn(n_h, n_x) * 1.5 / np.sqrt(n_x), "b1": bias(n_h),
              "W2": rng.randn(1, n_h) * 1.5 / np.sqrt(n_h), "b2": bias(1)}
    return X, Y, params


def reference(params, X, Y):
    """The parameters and every quantity of the ten equations, from the project's NumPy backend."""
    backend = impls.get_backend("numpy", activation="tanh")
    return {**params, **backend.forward(params, X), **backend.intermediates(params, X, Y),
            **backend.gradients(params, X, Y)}


def course_grads(ref, X, dZ2=None, dZ1=None, **direct):
    """The four gradients from a (possibly wrong) dZ2 or dZ1, the other equations as the course has them."""
    m = X.shape[1]
    dZ2 = ref["dZ2"] if dZ2 is None else dZ2
    dZ1 = (ref["W2"].T @ dZ2) * (1 - ref["A1"] ** 2) if dZ1 is None else dZ1
    grads = {"dW2": dZ2 @ ref["A1"].T / m, "db2": np.sum(dZ2, axis=1, keepdims=True) / m,
             "dW1": dZ1 @ X.T / m, "db1": np.sum(dZ1, axis=1, keepdims=True) / m}
    return {**grads, **direct}


def build_job(problems, seed):
    """(calls, inputs, references): per problem forward_propagation, then backward_propagation twice: on
    the correct cache (with any extra keys of theirs) and on the student's own, so that each is graded on
    its own."""
    rng = np.random.RandomState(seed)
    calls, inputs, refs = [], {}, []
    for i in range(problems):
        X, Y, params = distinct_sizes_problem(rng)
        ref = reference(params, X, Y)
        refs.append((X, Y, params, ref))
        for k in ("X", "Y", "W1", "b1", "W2", "b2", "Z1", "A1", "Z2", "A2"):
            inputs[f"p{i}.{k}"] = ref[k] if k in ref else {"X": X, "Y": Y}[k]
        a = {k: {"array": f"p{i}.{k}"} for k in ("X", "Y")}
        P = {"dict": {k: {"array": f"p{i}.{k}"} for k in ("W1", "b1", "W2", "b2")}}
        cache = {"dict": {k: {"array": f"p{i}.{k}"} for k in FORWARD_KEYS}, "extra_from": f"p{i}.forward"}
        calls += [{"id": f"p{i}.forward", "function": "forward_propagation", "args": [[a["X"], P]]},
                  {"id": f"p{i}.backward", "function": "backward_propagation", "locals": True,
                   "args": [[P, cache, a["X"], a["Y"]]]},
                  {"id": f"p{i}.backward_own", "function": "backward_propagation",
                   "args": [[P, {"from": f"p{i}.forward", "item": 1}, a["X"], a["Y"]]]}]
    return calls, inputs, refs
