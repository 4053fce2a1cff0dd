"""The computational graph for the page: the tape's live walk (compare.teach.trace.walk_tape, as
`explain --graph` draws it), each value with its operation, the rule its backward applies, and what torch
(grad_fn) and JAX (primitives) run for the same equation, read from their live graphs by trace."""
import functools

import numpy as np

import impls
from compare.playground.session import backend
from compare.teach.graph import layout
from compare.teach.trace import _gradient_name, trace, walk_tape
from compare.playground.arrays import matrix


def _walk(session):
    s = session.settings
    return walk_tape(backend("tape", s.activation, s.dtype), session.params["numpy"], session.X, session.Y)


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
    primitives that compute each equation, from compare.teach.trace's walk of their live graphs."""
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
    """The graph's shape, which a step does not change: values, operations, rules, positions."""
    nodes, equation = _walk(session)
    values = _in_order(nodes)
    index = {id(v): i for i, v in enumerate(values)}
    made_by = {id(n.out): n for n in nodes}
    position = layout(nodes)
    engines = engine_names(session.settings.activation, session.settings.dtype)
    items = []
    for v in values:
        node = made_by.get(id(v))
        eq = equation.get(id(v), "cost")
        item = {"id": index[id(v)], "name": v.name, "shape": list(v.value.shape), "x": float(position[id(v)][0]),
                "y": float(position[id(v)][1]), "param": v.requires_grad and node is None,
                "gradient": list(_gradient_name(v.name, eq)) if v.requires_grad else None}
        if node is None:
            item.update(op=None, equation=None, inputs=[], on_path=True)
        else:
            names = [x.name for x in node.inputs]
            rules = []
            for x, rule in zip(node.inputs, node.rules):
                if x.requires_grad:
                    course, geq = _gradient_name(x.name, equation[id(x)])
                    rules.append({"rule": f"{node.op}: grad wrt {x.name} = {rule.format(*names)}",
                                  "yields": course, "equation": geq})
            item.update(op=node.op, equation=eq, inputs=[index[id(x)] for x in node.inputs], rules=rules,
                        on_path=node.out.grad is not None,
                        engines={e: {"forward": n["forward"].get(eq),
                                     "backward": {r["equation"]: n["backward"].get(r["equation"]) for r in rules}}
                                 for e, n in engines.items()})
        items.append(item)
    return {"nodes": items}


def values(session):
    """Each value on the graph and the gradient it received, at the reference's parameters."""
    nodes, _ = _walk(session)
    return [{"value": matrix(v.value, full=16, strip=False),
             "grad": None if v.grad is None else matrix(v.grad, full=16, strip=False)}
            for v in _in_order(nodes)]
