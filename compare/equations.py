"""The lecture's equations, written once: the table that explain, trace, the grader, the diagnosis and the
playground name them from. Each row: its id, the layer it is about, the formula as the lecture writes it, the
array it yields and that array's shape in the problem's sizes.

`EQUATIONS` is week 3's table of ten rows for the two-layer network; `deep_equations(L)` the table of an L-layer
network (week 4), which is `EQUATIONS` for L = 2. A hidden layer l (1 ≤ l < L) has rows F1, F2 forward and B4,
B5, B6 backward; the output layer L has F3, F4 and B1, B2, B3; A0 is X.
"""
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Equation:
    id: str          # F1 … F4 forward, B1 … B6 backward
    formula: str     # {g} and {gp} stand for the hidden activation and its derivative at this layer (DERIVATIVES)
    yields: str      # the array it computes
    shape: tuple     # that array's shape, in the names n_x, n_h, n_y (n_1, n_2, … for deeper networks), m (or 1)
    layer: int       # the layer it is about, 1 … L

    def text(self, activation="tanh", symbol=None):
        """The formula with the hidden activation written in: B4 reads `dZ1 = W2ᵀ dZ2 ⊙ (1 − A1²)` for tanh.
        `symbol` writes g1 in F2 another way than by its name (explain writes σ for sigmoid)."""
        return self.formula.format(g=symbol or activation, gp=derivative(activation, self.layer))

    def shape_for(self, n_x, n_h, n_y, m):
        """The array's shape for these sizes of the two-layer network, as a tuple of ints."""
        return self.shape_in([n_x, n_h, n_y], m)

    def shape_in(self, layer_dims, m):
        """The array's shape for a network of `layer_dims` = [n_x, n_1, …, n_L] and m examples."""
        sizes = {"n_x": layer_dims[0], "n_y": layer_dims[-1], "m": m, "1": 1,
                 **{f"n_{l}": n for l, n in enumerate(layer_dims)}}
        if len(layer_dims) == 3:
            sizes["n_h"] = layer_dims[1]
        return tuple(sizes[s] for s in self.shape)


# g′(Z_l) as the lecture writes it, from the values the forward pass already has; {l} is the layer.
DERIVATIVE_TEMPLATES = {"tanh": "(1 − A{l}²)", "relu": "(Z{l} > 0)", "sigmoid": "A{l}(1 − A{l})",
                        "leaky_relu": "(1 if Z{l} > 0 else 0.01)"}
DERIVATIVES = {k: v.format(l=1) for k, v in DERIVATIVE_TEMPLATES.items()}  # the two-layer network's g1′(Z1)


def derivative(activation, layer=1):
    """g′(Z_layer) as the table writes it: `(1 − A3²)` for tanh at layer 3."""
    return DERIVATIVE_TEMPLATES[activation].format(l=layer)


def size_name(l, L):
    """The name of layer l's size in the table's shapes: n_x for the input, n_y for the output, n_h for the
    hidden layer of a two-layer network (week 3's names), n_l otherwise."""
    if l == 0:
        return "n_x"
    if l == L:
        return "n_y"
    return "n_h" if L == 2 else f"n_{l}"


def deep_equations(L):
    """The rows of an L-layer network's table (L >= 1) in the order they are computed: F1, F2 for layers
    1 … L−1 and F3, F4 for layer L forward; then B1, B2, B3 for layer L and B4, B5, B6 for layers L−1 … 1.
    Each formula is written with its layer's numbers ("Z3 = W3 A2 + b3"; layer 1 reads "Z1 = W1 X + b1")."""
    if isinstance(L, bool) or not isinstance(L, int) or L < 1:
        raise ValueError(f"L must be a whole number >= 1, got {L!r}")

    def A(l):
        return "X" if l == 0 else f"A{l}"

    def n(l):
        return size_name(l, L)

    rows = []
    for l in range(1, L + 1):
        z, a = ("F1", "F2") if l < L else ("F3", "F4")
        g = "{g}" if l < L else "σ"
        rows += [Equation(z, f"Z{l} = W{l} {A(l - 1)} + b{l}", f"Z{l}", (n(l), "m"), l),
                 Equation(a, f"A{l} = {g}(Z{l})", f"A{l}", (n(l), "m"), l)]
    for l in range(L, 0, -1):
        dz, dw, db = ("B1", "B2", "B3") if l == L else ("B4", "B5", "B6")
        dz_formula = f"dZ{l} = A{l} − Y" if l == L else f"dZ{l} = W{l + 1}ᵀ dZ{l + 1} ⊙ {{gp}}"
        rows += [Equation(dz, dz_formula, f"dZ{l}", (n(l), "m"), l),
                 Equation(dw, f"dW{l} = (1/m) dZ{l} {A(l - 1)}ᵀ", f"dW{l}", (n(l), n(l - 1)), l),
                 Equation(db, f"db{l} = (1/m) Σ dZ{l}, keepdims", f"db{l}", (n(l), "1"), l)]
    return tuple(rows)


def deep_by_row(L):
    """{(id, layer): Equation} of the L-layer table: ("B4", 2) is layer 2's dZ2 = W3ᵀ dZ3 ⊙ g′(Z2)."""
    return {(e.id, e.layer): e for e in deep_equations(L)}


def deep_produced_by(L):
    """{array: (id, layer)}: the row each array of the L-layer network comes from; dA_l = W_{l+1}ᵀ dZ_{l+1}
    is the first half of B4 at layer l."""
    return {**{e.yields: (e.id, e.layer) for e in deep_equations(L)},
            **{f"dA{l}": ("B4", l) for l in range(1, L)}}


EQUATIONS = deep_equations(2)  # week 3's table: F1 … F4, B1 … B6
BY_ID = {e.id: e for e in EQUATIONS}
IDS = tuple(BY_ID)
FORWARD = EQUATIONS[:4]
BACKWARD = EQUATIONS[4:]
# the equation each array comes from; dA1 = W2ᵀ dZ2 is the first half of B4
PRODUCED_BY = {**{e.yields: e.id for e in EQUATIONS}, "dA1": "B4"}

# A line's tags: its comment starts with one or more ids, `# F1 F3` for a line that is F1 at a hidden layer
# and F3 at the output layer (the deep network's code runs one line for every layer).
LINE_TAGS = re.compile(r"#\s*((?:[FB][1-6]\b\s*)+)")


def line_tags(path):
    """{id: [(line number, code), …]} for every line of `path` whose comment starts with tags such as
    `# F1 F3` or `# B4`: each id it names maps to the line (B4's two halves are two lines)."""
    found = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        match = LINE_TAGS.search(line)
        if match:
            for tag in match.group(1).split():
                found.setdefault(tag, []).append((number, line[:match.start()].strip()))
    return found
