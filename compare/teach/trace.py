"""`explain --trace`: the backward pass as each engine really runs it, read from its live graph.

tape: the nodes of impls/backends/tape_engine.py's tape, in the reverse order `backward` visits them. torch: the grad_fn
nodes reached through next_functions, in the order the autograd engine calls them (hooks record it).
JAX: the primitives of jax.make_jaxpr of jax.grad, each grouped under the equation it computes.
Each step is named by what it produces: ∂J/∂W2 is the course's dW2 (B2), ∂J/∂Z2 is dZ2/m (B1), …
"""
import textwrap
from dataclasses import dataclass, field

from compare.equations import EQUATIONS, FORWARD, IDS, PRODUCED_BY
from impls.base import GRAD_NAMES, PARAM_NAMES

WIDTH = 100
FORWARD_EQ = {e.yields: e.id for e in FORWARD}  # the forward equation that computes each value


def autograd_name(array):
    """The course's name of what reverse mode yields where the course computes `array`: the parameters'
    gradients are the course's own, the inner ones ∂J/∂Z = dZ/m (the course leaves the 1/m for B2 … B6)."""
    return array if array in GRAD_NAMES or not array.startswith("d") else f"{array}/m"


# the gradient with respect to a value: its name in the course and the equation that yields it
GRADIENT_OF = {name: (autograd_name("d" + name), PRODUCED_BY["d" + name]) for name in ("Z2", "A1", "Z1", *PARAM_NAMES)}


@dataclass
class Step:
    """One operation of a pass: what ran, the rule it applied, the shapes, and the course's names."""

    op: str
    rule: str
    shapes: str
    name: str        # the course's name of what it yields (dW2, Z1, …)
    equation: str    # F1 … B6, "cost" or "—"


@dataclass
class Trace:
    """What `trace` returns: the forward steps, the backward steps in the order run, and notes."""

    engine: str
    source: str
    forward: list
    backward: list
    notes: list = field(default_factory=list)
    order: str = "in the order it ran (the forward reversed)"

    @property
    def equations(self):
        """Every equation id some step names, F1 … B6."""
        return {eq for s in self.forward + self.backward for eq in IDS if eq in s.equation}

    def __str__(self):
        lines = [f"The backward pass as {self.engine} runs it, read from {self.source}", ""]
        for title, steps in (("forward, as recorded", self.forward),
                             (f"backward, {self.order}", self.backward)):
            lines += [f"{title}:", f"  {'#':>3}  {'eq':6}{'operation':20}{'yields':18}shapes in → out",
                      "  " + "─" * 76]
            for i, s in enumerate(steps, 1):
                lines.append(f"  {i:>3}  {s.equation:6}{s.op:20}{s.name:18}{s.shapes}".rstrip())
                lines += textwrap.wrap(s.rule, WIDTH, initial_indent=" " * 11, subsequent_indent=" " * 13)
            lines.append("")
        missing = [eq for eq in IDS if eq not in self.equations]
        lines.append("Equations named: " + " ".join(eq for eq in IDS if eq in self.equations)
                     + (f"; missing: {' '.join(missing)}" if missing else " (all ten)"))
        for title, text in self.notes:
            lines += ["", title] + textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="  ")
        return "\n".join(lines)


def _shape(a):
    return "×".join(str(n) for n in a.shape) or "scalar"


def _gradient_name(name, forward_eq):
    """(course name, equation) of ∂J/∂(value named `name`, computed in forward equation `forward_eq`)."""
    if name in GRADIENT_OF:
        return GRADIENT_OF[name]
    if forward_eq == "F3":       # W2·A1 before its bias: its gradient is Z2's
        return "dZ2/m", "B1"
    if forward_eq == "F1":       # W1·X before its bias: its gradient is Z1's
        return "dZ1/m", "B4"
    return f"∂J/∂{name}", "B1"  # inside the cost, on the way to B1


# --- tape ----------------------------------------------------------------------------------------

# names for the values the network leaves unnamed, by the op that makes them: L is the per-example loss
NAMES = {"matmul": "{0}·{1}", "add": "{0}+{1}", "multiply": "{0}⊙{1}", "subtract": "L", "sum": "ΣL", "divide": "J"}


def walk_tape(backend, params, X, Y):
    """Run the tape backend's forward pass and backward walk at params, X, Y.

    Returns:
        (nodes, equation): the tape's nodes in forward order, every value named (the course's names, else
        one from the op that made it) and with .grad filled; {id(value): the forward equation it belongs to}.
    """
    p, Xv, Yv = backend._graph({k: backend._asarray(v) for k, v in params.items()}, backend._asarray(X),
                              backend._asarray(Y))
    J, cache = backend._graph_cost(p, Xv, Yv)
    J.tape.backward(J)
    for k, v in cache.items():
        v.name = k
    nodes = J.tape.nodes
    equation = {}  # id(Var) -> forward equation: its own name's, else that of the value it flows into
    for node in reversed(nodes):
        out = id(node.out)
        equation.setdefault(out, FORWARD_EQ.get(node.out.name, "cost"))
        for x in node.inputs:
            equation.setdefault(id(x), FORWARD_EQ.get(x.name, equation[out] if equation[out] != "F4" else "cost"))
    for node in nodes:  # names for the values the network does not name, from the ops that made them
        if node.out.name is None:
            template = NAMES.get(node.op, node.op + "({0})")
            node.out.name = template.format(*(x.name for x in node.inputs))
    return nodes, equation


def trace_tape(backend, params, X, Y):
    """The tape backend's forward and backward pass, node by node, from a live tape."""
    nodes, equation = walk_tape(backend, params, X, Y)
    forward = [Step(n.op, f"= {n.op}({', '.join(x.name for x in n.inputs)})",
                    " ".join(_shape(x.value) for x in n.inputs) + f" → {_shape(n.out.value)}", n.out.name,
                    equation[id(n.out)]) for n in nodes]
    backward = []
    for node in reversed(nodes):
        if node.out.grad is None:
            backward.append(Step(node.op, f"skipped: {node.out.name} is not on J's path (the cost reads Z2)",
                                 "", "", "—"))
            continue
        for x, rule in zip(node.inputs, node.rules):
            if not x.requires_grad:
                continue
            name, eq = _gradient_name(x.name, equation[id(x)])
            rule = rule.format(*(y.name for y in node.inputs))
            backward.append(Step(node.op, f"{node.op}: grad wrt {x.name} = {rule}",
                                 f"{_shape(node.out.grad)} → {_shape(x.grad)}", name, eq))
    return Trace("the tape backend (impls/backends/tape_engine.py)", f"its live tape of {len(nodes)} nodes",
                 forward, backward, _notes("tape", X.shape[1]))


# --- torch ---------------------------------------------------------------------------------------

# each grad_fn's local rule, one per entry of its next_functions ({0}, {1}, …: the names of those inputs)
TORCH_RULES = {
    "Div": ("upstream / m",), "Sum": ("upstream copied to every entry",), "Sub": ("upstream", "−upstream"),
    "Mul": ("upstream ⊙ {1}", "upstream ⊙ {0}"), "Softplus": ("upstream ⊙ σ(in)",),
    "Addmm": ("upstream summed over the columns to {0}'s shape", "upstream · {2}ᵀ", "{1}ᵀ · upstream"),
    "Tanh": ("upstream ⊙ (1 − out²), from its saved output",), "Relu": ("upstream where out > 0, else 0",),
    "Sigmoid": ("upstream ⊙ out(1 − out), from its saved output",),
    "LeakyRelu": ("upstream where in > 0, else 0.01·upstream",),
}
TORCH_NAMES = {"Addmm": "{0}+{1}·{2}", "Mul": "{0}⊙{1}", "Sub": "L", "Sum": "ΣL", "Div": "J"}


def _stem(node):
    return node.name().rpartition("::")[2].removesuffix("Backward0").removesuffix("Backward1")


def trace_torch(backend, params, X, Y):
    """torch's grad_fn graph of J, walked through next_functions; the order is the engine's own (hooks)."""
    import torch

    from impls.backends.torch import cross_entropy

    p, Xt, Yt = backend._inputs(params, X, Y)
    p = {k: w.detach().requires_grad_() for k, w in p.items()}
    cache = backend._forward(p, Xt)
    J = cross_entropy(cache["Z2"], Yt)
    names = {c.grad_fn: k for k, c in cache.items()}
    seen, ran = [], []

    def walk(node):
        if node is None or node in seen:
            return
        seen.append(node)
        if hasattr(node, "variable"):  # AccumulateGrad: the leaf it fills
            names[node] = next(k for k, w in p.items() if w is node.variable)
        node.register_hook(lambda grad_inputs, grad_outputs, node=node: ran.append((node, grad_inputs,
                                                                                     grad_outputs)))
        for child, _ in node.next_functions:
            walk(child)
    walk(J.grad_fn)
    equation = {}
    for node in seen:  # J first: a consumer is always seen before what it reads
        equation.setdefault(node, FORWARD_EQ.get(names.get(node), "cost"))
        for child, _ in node.next_functions:
            if child is not None:
                equation.setdefault(child, FORWARD_EQ.get(names.get(child), equation[node]))
    def arguments(node):
        """The names of a node's inputs; a constant (no grad_fn) is known by the tensor the node saved."""
        saved = [a for a in dir(node) if a.startswith("_saved_")]
        saved = [getattr(node, a) for a in saved if isinstance(getattr(node, a), torch.Tensor)]
        constants = [k for t in saved for k, c in (("X", Xt), ("Y", Yt)) if t.data_ptr() == c.data_ptr()]
        return [names[c] if c is not None else (constants.pop(0) if constants else "m")
                for c, _ in node.next_functions]
    args = {}
    for node in reversed(seen):
        args[node] = arguments(node)  # before backward frees the saved tensors
        if node not in names:
            names[node] = TORCH_NAMES.get(_stem(node), _stem(node).lower() + "({0})").format(*args[node])
    J.backward()
    forward = [Step(n.name(), f"= {_stem(n).lower()}({', '.join(args[n])})", "", names[n], equation[n])
               for n, _, _ in reversed(ran) if not hasattr(n, "variable")]
    off_path = cache["A2"].grad_fn
    forward.append(Step(off_path.name(), "= sigmoid(Z2): not on J's path, its node never runs", "", "A2", "F4"))
    backward = []
    for node, grad_inputs, grad_outputs in ran:
        upstream = _shape(grad_outputs[0]) if grad_outputs and grad_outputs[0] is not None else ""
        if hasattr(node, "variable"):
            name, eq = GRADIENT_OF[names[node]]
            backward.append(Step(node.name().rpartition("::")[2], f"adds the arriving {name} into "
                                 f"{names[node]}.grad", f"{upstream} → {names[node]}.grad", name, eq))
            continue
        rules = TORCH_RULES.get(_stem(node), ())
        for i, ((child, _), g) in enumerate(zip(node.next_functions, grad_inputs)):
            if child is None or g is None:
                continue
            name, eq = _gradient_name(names[child], equation[child])
            rule = rules[i].format(*args[node]) if i < len(rules) else f"torch's rule for {node.name()}"
            backward.append(Step(node.name(), f"{_stem(node).lower()}: grad wrt {names[child]} = {rule}",
                                 f"{upstream} → {_shape(g)}", name, eq))
    return Trace("torch.autograd", f"the grad_fn graph of J ({len(seen)} nodes, walked through next_functions, "
                 "in the order the engine called them)", forward, backward, _notes("torch", X.shape[1]))


# --- JAX -----------------------------------------------------------------------------------------

def trace_jax(backend, params, X, Y):
    """The primitives of jax.make_jaxpr of the backend's gradient, grouped under the equation each computes.

    The jaxpr of value_and_grad runs the forward pass (with what the backward needs saved) up to J, then
    the transposed, backward part. Backward primitives are grouped by the gradients that depend on them:
    those all four gradients need are B1 (up to ∂J/∂Z2), those dW1 and db1 share beyond them are B4,
    the rest belong to the one gradient they feed (B2, B3, B5, B6).
    """
    import jax

    from impls.backends.jax import cross_entropy

    forward_fn = backend._forward.__wrapped__  # the backend's own forward lines, without its jit wrapper

    def cost(p, X, Y):
        cache = forward_fn(backend, p, X)
        return cross_entropy(cache["Z2"], Y), cache
    p, Xj, Yj = backend._inputs(params, X, Y)
    closed, shape = jax.make_jaxpr(jax.value_and_grad(cost, has_aux=True), return_shape=True)(p, Xj, Yj)
    jaxpr = closed.jaxpr
    out_names = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shape), range(len(jaxpr.outvars)))
    (J_index, cache_index), grad_index = out_names
    var = {"J": jaxpr.outvars[J_index], **{k: jaxpr.outvars[i] for k, i in cache_index.items()},
           **{"d" + k: jaxpr.outvars[i] for k, i in grad_index.items()}}
    producer = {id(v): i for i, e in enumerate(jaxpr.eqns) for v in e.outvars}

    def ancestors(v, stop=()):
        """Indices of the eqns `v` is computed from, not looking past the eqns in `stop`."""
        seen, todo = set(), [v]
        while todo:
            i = producer.get(id(todo.pop()))
            if i is None or i in seen or i in stop:
                continue
            seen.add(i)
            todo += jaxpr.eqns[i].invars  # literals have no producer: the walk stops there
        return seen
    end = producer[id(var["J"])]  # everything up to J is the forward pass, after it the backward
    group = {}
    for eq, name in [(e.id, e.yields) for e in FORWARD] + [("cost", "J")]:
        for i in ancestors(var[name]):
            group.setdefault(i, eq)
    anc = {k: ancestors(var["d" + k]) - set(range(end + 1)) for k in PARAM_NAMES}
    b1 = anc["W1"] & anc["W2"] & anc["b1"] & anc["b2"]
    b4 = (anc["W1"] & anc["b1"]) - b1
    for eq, members in (("B1", b1), ("B4", b4), ("B2", anc["W2"] - b1), ("B3", anc["b2"] - b1),
                        ("B5", anc["W1"] - b1 - b4), ("B6", anc["b1"] - b1 - b4)):
        for i in members:
            group.setdefault(i, eq)
    users = {}
    for i, e in enumerate(jaxpr.eqns):
        for x in e.invars:
            users.setdefault(id(x), []).append(i)
    for i in range(end, -1, -1):  # the rest was saved for the backward pass: it belongs where it is used
        if i not in group:
            used = [group[u] for v in jaxpr.eqns[i].outvars for u in users.get(id(v), []) if u in group]
            group[i] = next((g for g in used if g.startswith("B")), "B1")
    yields = {**{e.id: autograd_name(e.yields) for e in EQUATIONS}, "cost": "J"}
    forward, backward = [], []
    # one step per (equation, forward or backward part), in jaxpr order
    parts = {}
    for i in sorted(group):
        parts.setdefault((i > end, group[i]), []).append(i)
    for (backward_part, eq), members in parts.items():
        eqns = [jaxpr.eqns[i] for i in members]
        prims = [_primitive(e) for e in eqns]
        listed = ", ".join(f"{p}×{prims.count(p)}" if prims.count(p) > 1 else p for p in dict.fromkeys(prims))
        last = eqns[-1].outvars[0].aval
        incoming = {_shape(x.aval) for i in members for x in jaxpr.eqns[i].invars
                    if producer.get(id(x), -1) > end and group[producer[id(x)]] != eq}
        shapes = (" ".join(sorted(incoming)) or "1") + f" → {_shape(last)}" if backward_part else f"→ {_shape(last)}"
        listed = f"{len(eqns)} primitive{'s' if len(eqns) > 1 else ''}: {listed}"
        if not backward_part:
            saved = eq.startswith("B")
            forward.append(Step("jaxpr (forward)", ("saved for the backward pass: " if saved else "") + listed,
                                shapes, "" if saved else yields[eq], eq))
        else:
            backward.append(Step("jaxpr (backward)", listed, shapes, yields[eq], eq))
    return Trace("jax.grad", f"jax.make_jaxpr of value_and_grad of the backend's cost ({len(jaxpr.eqns)} "
                 f"primitives, {end + 1} of them forward)", forward, backward, _notes("jax", X.shape[1]),
                 "in jaxpr order (XLA may fuse and reorder them when it compiles)")


def _primitive(eqn):
    """An eqn's primitive name; for a call (custom_jvp_call of jax.nn.relu, …) with the primitives inside it."""
    inner = eqn.params.get("call_jaxpr") or eqn.params.get("jaxpr")
    inner = getattr(inner, "jaxpr", inner)
    if inner is None or not hasattr(inner, "eqns"):
        return eqn.primitive.name
    return f"{eqn.primitive.name}[{' '.join(_primitive(e) for e in inner.eqns)}]"


def _notes(engine, m):
    notes = [("Where the engines differ from the lecture, and why the numbers still agree",
              "The cost and B1 are one: every engine differentiates J = Σ(log(1 + e^Z2) − Y⊙Z2)/m, and the "
              "backward of softplus (σ(Z2), which is F4's A2) plus that of −Y⊙Z2 arrive at Z2 as (A2 − Y)/m: B1 "
              "with no σ′ to cancel, and F4 is never differentiated. Reverse mode carries ∂J/∂(·), so every "
              f"inner gradient is the course's value over m (m = {m}): autograd's ∂J/∂Z2 = (A2 − Y)/m where "
              "the course writes dZ2 = A2 − Y and divides by m in B2, B3, B5, B6 instead. The parameters' "
              "gradients are the same numbers either way, up to rounding. The sums over the examples in B3 "
              "and B6 come from the broadcast of b over the m columns: its backward sums the gradient back "
              "to b's shape, which is the course's keepdims=True.")]
    if engine == "torch":
        notes.append(("torch's addmm", "torch fuses each bias into its product, addmm(b, W, A) = b + W·A, so "
                      "one backward node yields B2 and B3 (or B5 and B6) and the gradient for A together."))
    return notes


def trace(engine, params, X, Y, *, activation="tanh", dtype="float64"):
    """The backward pass of `engine` (a name in ENGINES) at params, X, Y, read from its live graph.

    Returns:
        Trace: str() is the listing; .equations the equation ids it names.
    """
    import impls

    backend = impls.get_backend(engine, activation=activation, dtype=dtype)
    return ENGINES[engine](backend, params, X, Y)


ENGINES = {"tape": trace_tape, "torch": trace_torch, "jax": trace_jax}  # the engines whose graph trace can read
