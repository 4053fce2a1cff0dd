"""What does each equation's job in torch's and JAX's autograd and on the tape, in words, pointing at the places
in the code that sources.py finds; and the notes under explain's table."""
from pathlib import Path

import numpy as np

from compare.equations import FORWARD
from compare.teach.explain.sources import call_lines, locate, relative

# What computes g1′(Z1) inside torch's and JAX's backward passes.
AUTOGRAD_DERIVATIVES = {
    "tanh": ("tanh's backward, grad·(1 − A1²) from its saved output A1",
             "tanh's rule, g·(1 + A1)(1 − A1) from its output A1"),
    "relu": ("relu's backward, grad where its output A1 > 0, else 0", "jax.nn.relu's rule, g where Z1 > 0, else 0"),
    "sigmoid": ("sigmoid's backward, grad·A1(1 − A1) from its saved output",
                "logistic's rule, g·A1(1 − A1) from its output"),
    "leaky_relu": ("leaky_relu's backward, grad where Z1 > 0, else 0.01·grad",
                   "the rule of where(Z1 ≥ 0, Z1, 0.01·Z1): g through the branch taken"),
}


def roles(activation, params, m):
    """What plays each equation's part in torch, JAX and the tape: {id: {"torch": text, "jax": text, …}}."""
    t, j = locate("torch"), locate("jax")
    torch_gp, jax_gp = AUTOGRAD_DERIVATIVES[activation]
    found = {eq.id: {"torch": f"{t[eq.id]}, recorded for the backward pass", "jax": f"{j[eq.id]}, traced by jax.grad"}
             for eq in FORWARD[:3]}
    found["F4"] = {b: f"{w['F4']}, off the gradient's path: the cost is computed from Z2"
                   for b, w in (("torch", t), ("jax", j))}

    def unbroadcast(b, eq):
        shape = tuple(params[b].shape)
        return {"torch": f"{b} {shape} is broadcast over the {m} columns in {eq}; the backward of a broadcast "
                         f"sums the gradient back to {b}'s shape: Σ over the examples ({t['grad']})",
                "jax": f"the broadcast of {b} in {eq} transposes to reduce_sum over axis 1 and a reshape to "
                       f"{shape} ({j['grad']})"}

    found.update({
        "B1": {"torch": f"∂J/∂Z2, asked of torch.autograd.grad at the node Z2 ({t['inner']}): the backward of "
                        "log(1 + e^Z2) − Y·Z2 is σ(Z2) − Y, times 1/m from the mean; shown ×m",
               "jax": f"∂J/∂J = 1 pulled back through jax.vjp of the cost at Z2 ({j['inner']}); shown ×m"},
        "B2": {"torch": f"the backward of the product W2 A1 (F3) for W2: ∂J/∂Z2 · A1ᵀ, the 1/m already in ∂J/∂Z2 "
                        f"({t['grad']})",
               "jax": f"the transpose of the dot_general W2 @ A1, in jax.grad ({j['grad']})"},
        "B3": unbroadcast("b2", "F3"),
        "B4": {"torch": f"the backward of the product W2 A1 (F3) for A1, W2ᵀ ∂J/∂Z2, then {torch_gp} "
                        f"({t['inner']}); shown ×m",
               "jax": f"jax.vjp of F3 (W2ᵀ ·), then of g1: {jax_gp} ({j['inner']}); shown ×m"},
        "B5": {"torch": f"the backward of the product W1 X (F1) for W1: ∂J/∂Z1 · Xᵀ ({t['grad']})",
               "jax": f"the transpose of the dot_general W1 @ X, in jax.grad ({j['grad']})"},
        "B6": unbroadcast("b1", "F1"),
    })
    for eq, text in tape_roles(activation, params).items():
        found[eq]["tape"] = text
    return found


def tape_roles(activation, params):
    """What plays each equation's part on the tape: its forward lines and the rules in its engine."""
    from impls.backends import tape as tape_backend, tape_engine

    w = locate("tape")
    engine = Path(tape_engine.__file__)
    defs = {k: f"{relative(engine)}:{n}" for k, n in call_lines(engine, "def ").items()}
    t = tape_engine.Tape()  # the activation's own rule, as its node states it
    g1_rule = tape_backend.ACTIVATIONS[activation](t.var(np.zeros((1, 1)), requires_grad=True)).tape.nodes[-1]
    found = {eq.id: f"{w[eq.id]}, recorded on the tape with its vector-Jacobian product" for eq in FORWARD[:3]}
    found["F4"] = f"{w['F4']}, recorded, but off J's path: the cost is computed from Z2"
    found["B1"] = (f"the tape's backward ({w['grad']}) through divide by m, sum, subtract, multiply by Y and "
                   "softplus, whose rule is upstream ⊙ σ(Z2): (A2 − Y)/m at the node Z2; shown ×m")
    found["B2"] = f"matmul's rule for W2: upstream · A1ᵀ ({defs['__matmul__']})"
    found["B4"] = (f"matmul's rule for A1, W2ᵀ · upstream ({defs['__matmul__']}), then {g1_rule.op}'s: "
                   f"{g1_rule.rules[0]} ({defs['_unary']}); shown ×m")
    found["B5"] = f"matmul's rule for W1: upstream · Xᵀ ({defs['__matmul__']})"
    for eq, b in (("B3", "b2"), ("B6", "b1")):
        found[eq] = (f"add's rule for {b}: upstream summed back to {b}'s shape {tuple(params[b].shape)}, "
                     f"Σ over the examples, keepdims ({defs['unbroadcast']})")
    return found


def notes(activation, values, m):
    """(title, paragraph) pairs under the table: why B1 and g1′ are written as they are, where B3's and B6's
    sums come from."""
    A1, Z1 = values["A1"], values["Z1"]
    found = [("Why dZ2 = A2 − Y: the fused gradient of sigmoid and cross-entropy",
              "Per example L = −[y log a + (1 − y) log(1 − a)] with a = σ(z): ∂L/∂a = (a − y) / (a(1 − a)) and "
              "σ′(z) = a(1 − a), so ∂L/∂z = a − y: the σ′ factor cancels. Written from Z2, "
              "L = log(1 + e^z) − y·z, whose derivative is σ(z) − y directly. That is the cost every backend "
              "computes and autograd differentiates, so none of them divides by a(1 − a), which rounds to 0 where "
              "σ saturates.")]
    if activation == "tanh":
        gap = float(np.max(np.abs(Z1 ** 2 - A1 ** 2)))
        found.append(("Why g1′(Z1) = 1 − A1² for tanh",
                      "tanh′(z) = 1 − tanh²(z), and A1 = tanh(Z1) is already in the cache: the derivative costs a "
                      "multiply. torch's tanh backward and JAX's tanh rule use the saved output too, not Z1. "
                      f"Writing 1 − Z1² instead would change g1′ here by up to {gap:.1e}" +
                      (": tanh(z) ≈ z at such small weights, so that mistake barely shows (`compare check` "
                       "grades with O(1) weights for this reason)." if gap < 1e-2 else ".")))
    elif activation == "sigmoid":
        found.append(("Why g1′(Z1) = A1(1 − A1) for sigmoid",
                      "σ′(z) = σ(z)(1 − σ(z)), and A1 = σ(Z1) is already in the cache; torch's and JAX's rules "
                      "use the saved output the same way."))
    elif activation == "relu":
        found.append(("g1′(Z1) for relu: 1 where Z1 > 0, else 0",
                      "At exactly Z1 = 0 the derivative is a convention; every backend takes 0 there."))
    else:
        found.append(("g1′(Z1) for leaky_relu: 1 where Z1 > 0, else 0.01",
                      "At exactly Z1 = 0 the derivative is a convention: NumPy, torch and the tape take 0.01, while "
                      "JAX's where(Z1 ≥ 0, …) takes 1, the one place the backends may differ."))
    found.append(("Where autograd's sum over the examples comes from (B3, B6)",
                  f"b1 is (n_h, 1) but Z1 is (n_h, m): `+ b1` copies b1 into each of the m = {m} columns. The "
                  "backward of a copy is a sum: every copy's gradient flows back into the one b1, so autograd "
                  "returns Σ over the examples of ∂J/∂Z1, shaped like b1: the course's np.sum(dZ1, axis=1, "
                  "keepdims=True). The 1/m comes with it: J is a mean over the examples, so ∂J/∂Z1 = dZ1/m. "
                  "The same holds for b2."))
    return found
