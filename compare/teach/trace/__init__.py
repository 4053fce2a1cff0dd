"""`explain --trace`: the backward pass as each engine really runs it, read from its live graph, at any depth.

tape: the nodes of impls/backends/tape_engine.py's tape, in the reverse order `backward` visits them. torch: the
grad_fn nodes reached through next_functions, in the order the autograd engine calls them (hooks record it).
JAX: the primitives of jax.make_jaxpr of jax.grad, each grouped under the equation it computes.
Each step is named by what it produces: ∂J/∂W2 is the course's dW2 (B2), ∂J/∂Z2 is dZ2/m (B1), …; deeper
networks name the layer too (B5 l2: dW2 at layer 2). One file per engine; steps.py holds what they share.
"""
from compare.teach.trace.jax_graph import trace_jax
from compare.teach.trace.steps import Names, Step, Trace, _gradient_name, _shape, autograd_name  # noqa: F401
from compare.teach.trace.tape import NAMES, trace_tape, walk_tape  # noqa: F401
from compare.teach.trace.torch_graph import trace_torch

# What the JAX listing's primitives are, per hidden activation: what its derivative lowers to (B4).
JAX_DERIVATIVES = {
    "relu": "relu's derivative lowers to gt (Z > 0, computed in the forward pass and saved) and select_n in B4, "
            "which keeps the upstream gradient where the saved mask is true and puts 0 elsewhere",
    "tanh": "tanh's derivative lowers to sub (1 − A, computed in the forward pass and saved) and, in B4, mul×2 and "
            "add_any: JAX's rule writes 1 − A² as g·(1 − A) + g·(1 − A)·A, from the output A",
    "sigmoid": "the hidden σ's derivative lowers to sub and mul in the forward pass (A(1 − A), saved) and a mul in "
               "B4",
    "leaky_relu": "leaky_relu's where(Z ≥ 0, Z, 0.01·Z) lowers to gt and select_n forward, and its derivative to "
                  "select_n in B4, which picks the upstream gradient or 0.01 times it",
}


def notes(engine, m, names, activation=None):
    """The notes under a trace: why the numbers agree with the lecture though the engine's steps differ."""
    L = names.L
    hidden = "B5, B6" if L == 2 else "B5, B6 at every layer"
    found = [("Where the engines differ from the lecture, and why the numbers still agree",
              f"The cost and B1 are one: every engine differentiates J = Σ(log(1 + e^Z{L}) − Y⊙Z{L})/m, and the "
              f"backward of softplus (σ(Z{L}), which is F4's A{L}) plus that of −Y⊙Z{L} arrive at Z{L} as "
              f"(A{L} − Y)/m: B1 with no σ′ to cancel, and F4 is never differentiated. Reverse mode carries "
              f"∂J/∂(·), so every inner gradient is the course's value over m (m = {m}): autograd's ∂J/∂Z{L} = "
              f"(A{L} − Y)/m where the course writes dZ{L} = A{L} − Y and divides by m in B2, B3, {hidden} "
              "instead. The parameters' gradients are the same numbers either way, up to rounding. The sums over "
              "the examples in B3 and B6 come from the broadcast of b over the m columns: its backward sums the "
              "gradient back to b's shape, which is the course's keepdims=True.")]
    if engine in ("tape", "torch"):
        found.append(("Partial terms", f"Z{L} feeds two operations of the cost, softplus(Z{L}) and Y⊙Z{L}: each "
                      f"sends back one term of its gradient, σ(Z{L})/m and −Y/m, and the engine adds them into "
                      f"Z{L}'s gradient, dZ{L}/m = (A{L} − Y)/m. A step marked 'term k/n' yields one such term; "
                      "the value's gradient is complete only after its last term."))
    if engine == "torch":
        found.append(("torch's addmm", "torch fuses each bias into its product, addmm(b, W, A) = b + W·A, so "
                      "one backward node yields B2 and B3 (or B5 and B6) and the gradient for A together."))
    if engine == "jax":
        found.append(("What the primitives are", "JAX lists the primitives of each equation. B1's saved part "
                      "holds eq×6 and select_n×6 (and the broadcast_in_dim constants beside them): they are the "
                      "derivatives of max(Z, 0) and min(Z, −Z) in the stable "
                      "cost log(1 + e^Z) = max(Z, 0) + log1p(e^min(Z, −Z)) (impls/backends/jax.py cross_entropy): "
                      "eq asks which argument each max and min took, select_n turns that into 1 or 0 for the "
                      "branch, and 2 or 1 to divide by where the two tie (at Z = 0 the slope is split evenly). "
                      "They belong to the cost's derivative, σ(Z) − Y, not to the hidden activation's. "
                      + (f"The hidden layers': {JAX_DERIVATIVES[activation]}." if activation in JAX_DERIVATIVES
                         else "")))
    return found


def trace(engine, params, X, Y, *, activation="tanh", dtype="float64"):
    """The backward pass of `engine` (a name in ENGINES) at params, X, Y, read from its live graph; params of
    any depth.

    Returns:
        Trace: str() is the listing; .equations the equation ids it names, .rows the rows with their layers.
    """
    import impls

    backend = impls.get_backend(engine, activation=activation, dtype=dtype)
    return ENGINES[engine](backend, params, X, Y)


ENGINES = {"tape": trace_tape, "torch": trace_torch, "jax": trace_jax}  # the engines whose graph trace can read
