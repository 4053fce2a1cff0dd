"""The comparison's set-up: its arguments checked, and every backend wrapped as an Entrant under a unique name."""
from dataclasses import dataclass

from compare.comparison.entrants import Entrant, declared_dtype
from compare.equations import BY_ID, PRODUCED_BY
from impls.base import check_params
from impls.checks import check_count, check_data, check_learning_rate


@dataclass
class Setup:
    entrants: list          # the first is the reference
    params: dict
    X: object
    Y: object
    dtype: str
    activation: str
    learning_rate: float
    iterations: int
    checkpoint_every: int
    steps: int

    @property
    def ref(self):
        return self.entrants[0]

    @property
    def others(self):
        return self.entrants[1:]

    def shape(self, name):
        """The shape the contract gives an array (Z1 … A2, dW1 … db2, dZ2, dA1, dZ1) for this problem."""
        n_x, m = self.X.shape
        n_h, n_y = self.params["W1"].shape[0], self.Y.shape[0]
        equation = BY_ID[PRODUCED_BY["dZ1" if name == "dA1" else name]]  # dA1 = W2ᵀdZ2, dZ1's shape
        return equation.shape_for(n_x, n_h, n_y, m)


def prepare(backends, params, X, Y, *, learning_rate, iterations, checkpoint_every, steps):
    """A Setup, or a ValueError naming the argument that is wrong."""
    if not backends:
        raise ValueError("compare_backends needs at least one backend")
    names = [getattr(b, "name", None) or type(b).__name__ for b in backends]
    if not all(isinstance(n, str) for n in names):
        names = [n if isinstance(n, str) else type(b).__name__ for n, b in zip(names, backends)]
    if len(set(names)) != len(names):
        raise ValueError(f"backend names must differ, got {names}")
    declared = [declared_dtype(b, name) for b, name in zip(backends, names)]
    if len(set(declared) - {None}) > 1:
        raise ValueError(f"all backends must share one dtype, got {sorted(set(declared) - {None})}")
    dtype = next((d for d in declared if d is not None), "float64")
    activations = {b.activation for b in backends if isinstance(getattr(b, "activation", None), str)}
    if len(activations) > 1:
        raise ValueError(f"all backends must share one activation, got {sorted(activations)}")
    learning_rate = check_learning_rate(learning_rate)
    iterations = check_count(iterations, "iterations", 0)
    checkpoint_every = check_count(max(1, iterations // 100) if checkpoint_every is None else checkpoint_every,
                                   "checkpoint_every", 1)
    steps = check_count(steps, "steps", 1)
    X, Y = check_data(X, Y, dtype)
    params = check_params(params, X.shape[0], Y.shape[0], dtype)
    entrants = [Entrant(b, name, dtype) for b, name in zip(backends, names)]
    for e in entrants:
        if not {"cost", "gradients", "forward", "train"} & set(e.methods):
            raise ValueError(f"backend {e.name!r} provides none of the methods cost, gradients, forward, train: "
                             "there is nothing to compare")
    activation = getattr(backends[0], "activation", None)
    return Setup(entrants=entrants, params=params, X=X, Y=Y,
                 dtype=dtype, activation=activation if isinstance(activation, str) else "?",
                 learning_rate=learning_rate, iterations=iterations, checkpoint_every=checkpoint_every, steps=steps)
