"""The computational graph for the page, at any depth: the tape backend's live tape of the cost (the forward pass
as it records it, then its backward walk), laid out as `explain --graph` lays it out (compare.teach.graph.layout:
one column per step, so a deeper network grows by columns). Each value carries its operation, the row of the
equation table it belongs to (id and layer), the gradient it received in the course's name, the rule its
backward applies, and what torch (grad_fn) and JAX (primitives) run for the same equation, read from their live
graphs by compare.teach.trace."""
import functools

import numpy as np

import impls
from compare.equations import deep_equations, deep_produced_by
from compare.playground.arrays import matrix
from compare.playground.session import backend
from compare.teach.graph import layout
from compare.teach.trace import NAMES, trace

COST = ("cost", None)  # the row of the values inside the cost, after ZL


def walk(session):
    """The tape backend's forward pass and backward walk at the reference's parameters.

    Returns:
        (nodes, row, L): the tape's nodes in forward order, each value named (the course's names, else one from
        the op that made it) with .grad filled; {id(value): (equation id, layer)} of the forward row each value
        belongs to, COST inside the cost; the depth.
    """
    s = session.settings
    tape = backend("tape", s.activation, s.dtype)
    params = session.params["numpy"]
    L = impls.depth(params)
    # the tape backend's own graph and cost at this depth (its two-layer lines for L = 2, its loop otherwise)
    p, X, Y = tape._graph({k: tape._asarray(v) for k, v in params.items()}, tape._asarray(session.X),
                          tape._asarray(session.Y))
    J, cache = tape._hook("_graph_cost", p)(p, X, Y)
    J.tape.backward(J)
    for k, v in cache.items():
        v.name = k
    nodes = J.tape.nodes
    forward = {e.yields: (e.id, e.layer) for e in deep_equations(L) if e.id.startswith("F")}
    row = {}  # a value's own row if the course names it, else that of the value it flows into
    for node in reversed(nodes):
        out = id(node.out)
        row.setdefault(out, forward.get(node.out.name, COST))
        for x in node.inputs:  # what flows into AL = σ(ZL) alone (nothing: ZL is named) would be the cost's
            row.setdefault(id(x), forward.get(x.name, row[out] if row[out][0] != "F4" else COST))
    for node in nodes:
        if node.out.name is None:
            node.out.name = NAMES.get(node.op, node.op + "({0})").format(*(x.name for x in node.inputs))
    return nodes, row, L


def gradient_name(name, row, L):
    """(the course's name, equation id, layer) of ∂J/∂(the value `name` of forward row `row`): dW2 for W2, dZ2/m
    for Z2 (reverse mode carries ∂J/∂Z = dZ/m; the course leaves the 1/m for the dW and db rows)."""
    produced = deep_produced_by(L)
    if "d" + name in produced:
        course = "d" + name if name[0] in "Wb" else f"d{name}/m"
        return (course, *produced["d" + name])
    if row[0] in ("F1", "F3"):  # W_l·A_{l−1} before its bias: its gradient is Z_l's
        return (f"dZ{row[1]}/m", *produced[f"dZ{row[1]}"])
    return (f"∂J/∂{name}", *produced[f"dZ{L}"])  # inside the cost, on the way to dZL


def _in_order(nodes):
    """Every value on the tape once, in the order the forward pass first meets it."""
    seen = {}
    for node in nodes:
        for v in (*node.inputs, node.out):
            seen.setdefault(id(v), v)
    return list(seen.values())


@functools.lru_cache(maxsize=16)
def engine_names(activation, dtype):
    """{"torch": {"forward": {eq: text}, "backward": {eq: text}}, "jax": …}: the grad_fn nodes and JAX
    primitives that compute each equation, from compare.teach.trace's walk of their live graphs of week 3's
    network. A deep network's backends run the same lines at every layer (`# F1 F3` in each), so the page shows
    these names for each layer's row, saying they are the same at every layer."""
    rng = np.random.RandomState(0)
    X, Y = rng.randn(2, 5), (rng.rand(1, 5) > 0.5).astype(float)
    params = impls.init_params(2, 3, seed=0, scale=0.5)
    names = {}
    for engine in ("torch", "jax"):
        if engine not in impls.available_backends():
            continue
        t = trace(engine, params, X, Y, activation=activation, dtype=dtype)
        names[engine] = {}
        for part, steps in (("forward", t.forward), ("backward", t.backward)):
            found = {}
            for step in steps:
                what = step.rule.rpartition(": ")[2] if engine == "jax" else step.op
                found.setdefault(step.equation, [])
                if what not in found[step.equation]:
                    found[step.equation].append(what)
            names[engine][part] = {eq: ", ".join(v) for eq, v in found.items()}
    return names


def structure(session):
    """The graph's shape, which a step does not change: values, operations, rows, rules, positions."""
    nodes, row, L = walk(session)
    values = _in_order(nodes)
    index = {id(v): i for i, v in enumerate(values)}
    made_by = {id(n.out): n for n in nodes}
    position = layout(nodes)
    engines = engine_names(session.settings.activation, session.settings.dtype)
    items = []
    for v in values:
        node = made_by.get(id(v))
        eq, layer = row.get(id(v), COST)
        item = {"id": index[id(v)], "name": v.name, "shape": list(v.value.shape), "x": float(position[id(v)][0]),
                "y": float(position[id(v)][1]), "param": v.requires_grad and node is None,
                "gradient": list(gradient_name(v.name, (eq, layer), L)) if v.requires_grad else None}
        if node is None:
            item.update(op=None, equation=None, layer=None, inputs=[], on_path=True)
        else:
            names = [x.name for x in node.inputs]
            rules = []
            for x, rule in zip(node.inputs, node.rules):
                if x.requires_grad:
                    course, geq, glayer = gradient_name(x.name, row[id(x)], L)
                    rules.append({"rule": f"{node.op}: grad wrt {x.name} = {rule.format(*names)}",
                                  "yields": course, "equation": geq, "layer": glayer})
            item.update(op=node.op, equation=eq, layer=layer, inputs=[index[id(x)] for x in node.inputs],
                        rules=rules, on_path=node.out.grad is not None,
                        engines={e: {"forward": n["forward"].get(eq),
                                     "backward": {r["equation"]: n["backward"].get(r["equation"]) for r in rules}}
                                 for e, n in engines.items()})
        items.append(item)
    return {"nodes": items, "depth": L}


def values(session):
    """Each value on the graph and the gradient it received, at the reference's parameters."""
    nodes, _, _ = walk(session)
    return [{"value": matrix(v.value, full=16, strip=False),
             "grad": None if v.grad is None else matrix(v.grad, full=16, strip=False)}
            for v in _in_order(nodes)]
