"""The tape's trace: the nodes of impls/backends/tape_engine.py's tape, in the reverse order `backward` visits
them, each named by what it yields in the course's names, at any depth."""
from compare.teach.trace.steps import Names, Step, Trace, _shape, partial

# names for the values the network leaves unnamed, by the op that makes them: L is the per-example loss
NAMES = {"matmul": "{0}·{1}", "add": "{0}+{1}", "multiply": "{0}⊙{1}", "subtract": "L", "sum": "ΣL", "divide": "J"}


def walk_tape(backend, params, X, Y):
    """Run the tape backend's forward pass and backward walk at params, X, Y (any depth).

    Returns:
        (nodes, equation): the tape's nodes in forward order, every value named (the course's names, else
        one from the op that made it) and with .grad filled; {id(value): the forward row it belongs to}.
    """
    names = Names(len(params) // 2)
    p, Xv, Yv = backend._graph({k: backend._asarray(v) for k, v in params.items()}, backend._asarray(X),
                              backend._asarray(Y))
    J, cache = (backend._graph_cost if names.L == 2 else backend._deep_graph_cost)(p, Xv, Yv)
    J.tape.backward(J)
    for k, v in cache.items():
        v.name = k
    nodes = J.tape.nodes
    equation = {}  # id(Var) -> forward row: its own name's, else that of the value it flows into
    for node in reversed(nodes):
        out = id(node.out)
        equation.setdefault(out, names.forward.get(node.out.name, "cost"))
        for x in node.inputs:
            inherited = equation[out] if equation[out] != names.output else "cost"
            equation.setdefault(id(x), names.forward.get(x.name, inherited))
    for node in nodes:  # names for the values the network does not name, from the ops that made them
        if node.out.name is None:
            template = NAMES.get(node.op, node.op + "({0})")
            node.out.name = template.format(*(x.name for x in node.inputs))
    return nodes, equation


def trace_tape(backend, params, X, Y):
    """The tape backend's forward and backward pass, node by node, from a live tape."""
    from compare.teach.trace import notes

    names = Names(len(params) // 2)
    nodes, equation = walk_tape(backend, params, X, Y)
    forward = [Step(n.op, f"= {n.op}({', '.join(x.name for x in n.inputs)})",
                    " ".join(_shape(x.value) for x in n.inputs) + f" → {_shape(n.out.value)}", n.out.name,
                    equation[id(n.out)]) for n in nodes]
    on_path = [n for n in nodes if n.out.grad is not None]
    terms = {}  # id(value) -> how many operations on J's path send it a term of its gradient
    for node in on_path:
        for x in node.inputs:
            if x.requires_grad:
                terms[id(x)] = terms.get(id(x), 0) + 1
    seen, backward = {}, []
    for node in reversed(nodes):
        if node.out.grad is None:
            backward.append(Step(node.op, f"skipped: {node.out.name} is not on J's path (the cost reads "
                                 f"Z{names.L})", "", "", "—"))
            continue
        for x, rule in zip(node.inputs, node.rules):
            if not x.requires_grad:
                continue
            name, eq = names.gradient(x.name, equation[id(x)])
            seen[id(x)] = seen.get(id(x), 0) + 1
            name, why = partial(name, x.name, seen[id(x)], terms[id(x)])
            rule = rule.format(*(y.name for y in node.inputs))
            backward.append(Step(node.op, f"{node.op}: grad wrt {x.name} = {rule}{why}",
                                 f"{_shape(node.out.grad)} → {_shape(x.grad)}", name, eq))
    return Trace("the tape backend (impls/backends/tape_engine.py)", f"its live tape of {len(nodes)} nodes",
                 forward, backward, notes("tape", X.shape[1], names), names=names)
