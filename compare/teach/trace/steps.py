"""What every engine's trace is made of: the steps, the listing, and the course's names for what each node
yields at any depth (Names): Z2 is F3 in week 3's network and "F1 l2" (F1 at layer 2) in a deeper one."""
import textwrap
from dataclasses import dataclass, field

from compare.equations import IDS, deep_equations, deep_produced_by
from compare.terminal import spelled
from impls.base import cache_names, param_names

WIDTH = 100


def autograd_name(array):
    """The course's name of what reverse mode yields where the course computes `array`: the parameters'
    gradients are the course's own, the inner ones ∂J/∂Z = dZ/m (the course leaves the 1/m for B2 … B6)."""
    return array if array[:2] in ("dW", "db") or not array.startswith("d") else f"{array}/m"


class Names:
    """The course's names at depth L: each row's label (its id for two layers, "B5 l2" deeper), the forward
    row of each value, and the name and row of the gradient with respect to each value."""

    def __init__(self, L):
        self.L = L
        rows = deep_produced_by(L)
        self.labels = [self.label(e.id, e.layer) for e in deep_equations(L)]
        self.forward = {k: self.label(*rows[k]) for k in cache_names(L)}
        values = [f"Z{l}" for l in range(1, L + 1)] + [f"A{l}" for l in range(1, L)] + list(param_names(L))
        self.gradient_of = {v: (autograd_name("d" + v), self.label(*rows["d" + v])) for v in values}
        self.output = self.label("F4", L)  # σ(ZL): off J's path
        self.top = self.label("B1", L)

    def label(self, id, layer):
        return id if self.L == 2 else f"{id} l{layer}"

    def gradient(self, name, forward_eq):
        """(course name, row) of ∂J/∂(value named `name`, computed in the forward row `forward_eq`)."""
        if name in self.gradient_of:
            return self.gradient_of[name]
        for z, row in self.forward.items():  # W_l·A_{l−1} before its bias: its gradient is Z_l's
            if z.startswith("Z") and row == forward_eq:
                return self.gradient_of[z]
        return f"∂J/∂{name}", self.top  # inside the cost, on the way to B1


TWO_LAYERS = Names(2)


def _gradient_name(name, forward_eq, names=TWO_LAYERS):
    """(course name, equation) of ∂J/∂(value named `name`, computed in forward equation `forward_eq`)."""
    return names.gradient(name, forward_eq)


def _shape(a):
    return "×".join(str(n) for n in a.shape) or "scalar"


@dataclass
class Step:
    """One operation of a pass: what ran, the rule it applied, the shapes, and the course's names."""

    op: str
    rule: str
    shapes: str
    name: str        # the course's name of what it yields (dW2, Z1, …)
    equation: str    # F1 … B6 ("B5 l2" at layer 2 of a deeper network), "cost" or "—"


@dataclass
class Trace:
    """What `trace` returns: the forward steps, the backward steps in the order run, and notes."""

    engine: str
    source: str
    forward: list
    backward: list
    notes: list = field(default_factory=list)
    order: str = "in the order it ran (the forward reversed)"
    names: Names = TWO_LAYERS

    @property
    def equations(self):
        """Every equation id some step names, F1 … B6."""
        return {eq for s in self.forward + self.backward for eq in IDS if eq in s.equation}

    @property
    def rows(self):
        """Every row of the table some step names: the ids for two layers, "B5 l2" and the like deeper."""
        named = {s.equation for s in self.forward + self.backward}
        return [label for label in self.names.labels if label in named]

    def __str__(self):
        lines = textwrap.wrap(f"The backward pass as {self.engine} runs it, read from {self.source}", WIDTH) + [""]
        if self.names.L != 2:
            lines += textwrap.wrap(f"L = {self.names.L} layers: eq names the row and its layer, B5 l2 for B5 at "
                                   "layer 2 (dW2 = (1/m) dZ2 A1ᵀ); F1 F2 B4 B5 B6 at the hidden layers, F3 F4 B1 "
                                   "B2 B3 at the output layer (`explain --hidden …` prints each row).", WIDTH) + [""]
        eq = 6 if self.names.L == 2 else 7  # "B5 l2"
        for title, steps in (("forward, as recorded", self.forward),
                             (f"backward, {self.order}", self.backward)):
            lines += [f"{title}:", f"  {'#':>3}  {'eq':{eq}}{'operation':20}{'yields':18}shapes in → out",
                      "  " + "─" * (70 + eq)]
            for i, s in enumerate(steps, 1):
                lines.append(f"  {i:>3}  {s.equation:{eq}}{s.op:20}{spelled(s.name):18}{s.shapes}".rstrip())
                lines += textwrap.wrap(s.rule, WIDTH, initial_indent=" " * 11, subsequent_indent=" " * 13)
            lines.append("")
        if self.names.L == 2:
            missing = [eq for eq in IDS if eq not in self.equations]
            lines.append("Equations named: " + " ".join(eq for eq in IDS if eq in self.equations)
                         + (f"; missing: {' '.join(missing)}" if missing else " (all ten)"))
        else:
            missing = [label for label in self.names.labels if label not in self.rows]
            lines += textwrap.wrap(f"Rows named: {len(self.rows)} of the {len(self.names.labels)} of L = "
                                   f"{self.names.L} layers" + (f"; missing: {' '.join(missing)}" if missing
                                                                 else " (all)"), WIDTH)
        for title, text in self.notes:
            lines += ["", title] + textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="  ")
        return "\n".join(lines)


def partial(name, x_name, k, n):
    """The words for the k-th of n terms a value's gradient is the sum of (it feeds n operations)."""
    if n < 2:
        return name, ""
    done = f"; with this one {x_name}.grad is complete: {name}" if k == n else ""
    return f"{name}, term {k}/{n}", (f" (a partial term: {x_name} feeds {n} operations, and its gradient "
                                     f"{name} is the sum of their {n} terms{done})")
