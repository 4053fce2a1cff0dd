"""The comparison's set-up: its arguments checked, and every backend wrapped as an Entrant under a unique name."""
from dataclasses import dataclass

from compare.comparison.entrants import Entrant, declared_dtype
from compare.equations import deep_by_row, deep_produced_by
from impls.base import cache_names, check_params, grad_names, intermediate_names, layer_dims, param_names
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

    @property
    def L(self):
        """The depth, L = len(params) // 2 as the course reads it: 2 for week 3's network."""
        return len(self.params) // 2

    @property
    def layer_dims(self):
        return layer_dims(self.params)

    # the contract's names at this depth: W1, b1, …, WL, bL and what each method returns
    param_names = property(lambda self: param_names(self.L))
    grad_names = property(lambda self: grad_names(self.L))
    cache_names = property(lambda self: cache_names(self.L))
    intermediate_names = property(lambda self: intermediate_names(self.L))

    def shape(self, name):
        """The shape the contract gives an array (Z1 … AL, dW1 … dbL, dZL, dA(L−1), …, dZ1) for this problem."""
        if name.startswith("dA"):  # dA_l = W_{l+1}ᵀ dZ_{l+1} has dZ_l's shape
            name = "dZ" + name[2:]
        equation = deep_by_row(self.L)[deep_produced_by(self.L)[name]]
        return equation.shape_in(self.layer_dims, self.X.shape[1])


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
