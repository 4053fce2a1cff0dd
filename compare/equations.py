"""The lecture's ten equations, written once: the table that explain, trace, the grader, the diagnosis and the
playground name them from. Each row: its id, the formula as the lecture writes it, the array it yields and
that array's shape in the problem's sizes."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Equation:
    id: str          # F1 … F4 forward, B1 … B6 backward
    formula: str     # {g} and {gp} stand for the hidden activation g1 and its derivative g1′ (DERIVATIVES)
    yields: str      # the array it computes
    shape: tuple     # that array's shape, in the names n_x, n_h, n_y, m (or 1)

    def text(self, activation="tanh", symbol=None):
        """The formula with the hidden activation written in: B4 reads `dZ1 = W2ᵀ dZ2 ⊙ (1 − A1²)` for tanh.
        `symbol` writes g1 in F2 another way than by its name (explain writes σ for sigmoid)."""
        return self.formula.format(g=symbol or activation, gp=DERIVATIVES[activation])

    def shape_for(self, n_x, n_h, n_y, m):
        """The array's shape for these sizes, as a tuple of ints."""
        sizes = {"n_x": n_x, "n_h": n_h, "n_y": n_y, "m": m, "1": 1}
        return tuple(sizes[s] for s in self.shape)


# g1′(Z1) as the lecture writes it, from the values the forward pass already has.
DERIVATIVES = {"tanh": "(1 − A1²)", "relu": "(Z1 > 0)", "sigmoid": "A1(1 − A1)",
               "leaky_relu": "(1 if Z1 > 0 else 0.01)"}

EQUATIONS = (
    Equation("F1", "Z1 = W1 X + b1", "Z1", ("n_h", "m")),
    Equation("F2", "A1 = {g}(Z1)", "A1", ("n_h", "m")),
    Equation("F3", "Z2 = W2 A1 + b2", "Z2", ("n_y", "m")),
    Equation("F4", "A2 = σ(Z2)", "A2", ("n_y", "m")),
    Equation("B1", "dZ2 = A2 − Y", "dZ2", ("n_y", "m")),
    Equation("B2", "dW2 = (1/m) dZ2 A1ᵀ", "dW2", ("n_y", "n_h")),
    Equation("B3", "db2 = (1/m) Σ dZ2, keepdims", "db2", ("n_y", "1")),
    Equation("B4", "dZ1 = W2ᵀ dZ2 ⊙ {gp}", "dZ1", ("n_h", "m")),
    Equation("B5", "dW1 = (1/m) dZ1 Xᵀ", "dW1", ("n_h", "n_x")),
    Equation("B6", "db1 = (1/m) Σ dZ1, keepdims", "db1", ("n_h", "1")),
)
BY_ID = {e.id: e for e in EQUATIONS}
IDS = tuple(BY_ID)
FORWARD = EQUATIONS[:4]
BACKWARD = EQUATIONS[4:]
# the equation each array comes from; dA1 = W2ᵀ dZ2 is the first half of B4
PRODUCED_BY = {**{e.yields: e.id for e in EQUATIONS}, "dA1": "B4"}
