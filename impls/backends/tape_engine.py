"""A reverse-mode autodiff engine on NumPy arrays, this project's own, short enough to read in one sitting.

Every operation computes its value and records a Node on the tape: its inputs, its output and, per input,
the local vector-Jacobian product (VJP), the function that turns ∂J/∂output into ∂J/∂input. `backward`
walks the tape in reverse and hands each node the gradient of its output. Nothing here knows the network.
"""
import numpy as np


class Node:
    """One recorded operation: op name, input Vars, output Var, one VJP per input, and its rule in words."""

    __slots__ = ("op", "inputs", "out", "vjps", "rules")

    def __init__(self, op, inputs, out, vjps, rules):
        self.op, self.inputs, self.out, self.vjps, self.rules = op, inputs, out, vjps, rules


class Var:
    """A value on a tape; `.grad` holds ∂J/∂value after `tape.backward(J)` when `requires_grad`."""

    __slots__ = ("value", "tape", "requires_grad", "grad", "name")

    def __init__(self, value, tape, requires_grad=False, name=None):
        self.value, self.tape, self.requires_grad, self.grad, self.name = value, tape, requires_grad, None, name

    shape = property(lambda self: self.value.shape)

    def __matmul__(self, other):
        a, b = self.value, other.value
        return self.tape.record("matmul", (self, other), a @ b, (lambda g: g @ b.T, lambda g: a.T @ g),
                                ("upstream · {1}ᵀ", "{0}ᵀ · upstream"))

    def __add__(self, other):
        return self.tape.record("add", (self, other), self.value + other.value,
                                (lambda g: unbroadcast(g, self.shape), lambda g: unbroadcast(g, other.shape)),
                                ("upstream, summed to {0}'s shape", "upstream, summed to {1}'s shape"))

    def __sub__(self, other):
        return self.tape.record("subtract", (self, other), self.value - other.value,
                                (lambda g: unbroadcast(g, self.shape), lambda g: unbroadcast(-g, other.shape)),
                                ("upstream", "−upstream"))

    def __mul__(self, other):
        a, b = self.value, other.value
        return self.tape.record("multiply", (self, other), a * b,
                                (lambda g: unbroadcast(g * b, a.shape), lambda g: unbroadcast(g * a, b.shape)),
                                ("upstream ⊙ {1}", "upstream ⊙ {0}"))

    def __truediv__(self, m):  # by a number (the m of the mean): the only division the network has
        return self.tape.record("divide", (self,), self.value / m, (lambda g: g / m,), (f"upstream / {m}",))

    def sum(self):
        shape, dtype = self.shape, self.value.dtype
        return self.tape.record("sum", (self,), np.asarray(np.sum(self.value), dtype=dtype),
                                (lambda g: np.full(shape, g, dtype=dtype),), ("upstream copied to every entry",))


def unbroadcast(g, shape):
    # `+ b1` copies b1 (n_h, 1) into each of the m columns; the VJP of a copy is a sum, so the gradient
    # is summed back to the operand's shape. This sum is exactly B3's and B6's np.sum(…, axis=1, keepdims=True).
    axes = tuple(i for i, (n, s) in enumerate(zip(g.shape, shape)) if s == 1 and n != 1)
    return np.sum(g, axis=axes, keepdims=True) if axes else g


def _unary(op, f, vjp, rule):
    """An elementwise function as an op: f(z), and vjp(g, z, out) = g ⊙ f′(z) from the values at hand."""
    def apply(x):
        z = x.value
        out = f(z)
        return x.tape.record(op, (x,), out, (lambda g: vjp(g, z, out),), (rule,))
    return apply


# Where e^-z overflows, per dtype; σ(z) is below the smallest normal float there anyway.
EXP_LIMIT = {np.dtype(t): float(np.floor(np.log(np.finfo(t).max))) for t in ("float64", "float32")}


def logistic(z):
    """σ(z) = 1 / (1 + e^-z), z clipped where e^-z would overflow: no warning, no NaN."""
    return 1 / (1 + np.exp(-np.maximum(z, -EXP_LIMIT[z.dtype])))


# NumPy's conventions at exactly 0, as the numpy backend: relu′(0) = 0, leaky_relu′(0) = 0.01.
tanh = _unary("tanh", np.tanh, lambda g, z, a: g * (1 - a ** 2), "upstream ⊙ (1 − out²)")
relu = _unary("relu", lambda z: np.maximum(z, 0), lambda g, z, a: g * (z > 0), "upstream where in > 0, else 0")
sigmoid = _unary("sigmoid", logistic, lambda g, z, a: g * (a * (1 - a)), "upstream ⊙ out(1 − out)")
leaky_relu = _unary("leaky_relu", lambda z: np.where(z > 0, z, 0.01 * z),
                    lambda g, z, a: np.where(z > 0, g, 0.01 * g), "upstream where in > 0, else 0.01·upstream")
# log(1 + e^z) computed stably as logaddexp(0, z); its derivative is σ(z).
softplus = _unary("softplus", lambda z: np.logaddexp(0, z), lambda g, z, a: g * logistic(z), "upstream ⊙ σ(in)")


class Tape:
    """The list of operations in the order they ran."""

    def __init__(self):
        self.nodes = []

    def var(self, value, name=None, requires_grad=False):
        return Var(value, self, requires_grad, name)

    def record(self, op, inputs, value, vjps, rules):
        out = Var(value, self, any(x.requires_grad for x in inputs))
        if out.requires_grad:  # a value no parameter flows into needs no backward
            self.nodes.append(Node(op, inputs, out, vjps, rules))
        return out

    def backward(self, J):
        """Fill `.grad` of every Var on J's path: ∂J/∂J = 1, then each node in reverse, chain rule."""
        J.grad = np.ones_like(J.value)
        for node in reversed(self.nodes):
            if node.out.grad is None:
                continue  # not on J's path
            for x, vjp in zip(node.inputs, node.vjps):
                if x.requires_grad:
                    g = vjp(node.out.grad)
                    x.grad = g if x.grad is None else x.grad + g  # a value used twice sums its gradients
