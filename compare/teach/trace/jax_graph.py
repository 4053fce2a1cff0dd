"""JAX's trace: the primitives of jax.make_jaxpr of the backend's gradient, each grouped under the row of the
equation table it computes, at any depth."""
from compare.equations import deep_equations
from compare.teach.trace.steps import Names, Step, Trace, _shape, autograd_name
from impls.base import cache_names, param_names


def backward_row(needed, names):
    """The row of a backward primitive from the parameters whose gradients it feeds: all of them, B1; both of
    layer l's and those below only, B4 at layer l; one parameter's alone, its own B2 B3 (output) or B5 B6."""
    L = names.L
    layers = {int(k[1:]) for k in needed}
    if len(needed) == 2 * L:
        return names.top
    top = max(layers)
    if len(needed) == 1:
        (k,) = needed
        return names.label(("B2" if k[0] == "W" else "B3") if top == L else ("B5" if k[0] == "W" else "B6"), top)
    return names.top if top == L else names.label("B4", top)


def trace_jax(backend, params, X, Y):
    """The primitives of jax.make_jaxpr of the backend's gradient, grouped under the equation each computes.

    The jaxpr of value_and_grad runs the forward pass (with what the backward needs saved) up to J, then
    the transposed, backward part. Backward primitives are grouped by the gradients that depend on them
    (`backward_row`): those every gradient needs are B1 (up to ∂J/∂ZL), those that layer l's dW and db
    share, and no layer above it, are B4 at layer l; the rest belong to the one gradient they feed (B2, B3,
    B5, B6 at its layer).
    """
    import jax

    from compare.teach.trace import notes
    from impls.backends.jax import cross_entropy

    names = Names(len(params) // 2)
    L = names.L
    # the backend's own forward lines, without its jit wrapper
    forward_fn = (backend._forward if L == 2 else backend._deep_forward).__wrapped__

    def cost(p, X, Y):
        cache = forward_fn(backend, p, X)
        return cross_entropy(cache[f"Z{L}"], Y), cache
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
    for name, eq in [(k, names.forward[k]) for k in cache_names(L)] + [("J", "cost")]:
        for i in ancestors(var[name]):
            group.setdefault(i, eq)
    needed = {}  # backward eqn -> the parameters whose gradient it feeds
    for k in param_names(L):
        for i in ancestors(var["d" + k]) - set(range(end + 1)):
            needed.setdefault(i, set()).add(k)
    for i, ks in needed.items():
        group.setdefault(i, backward_row(ks, names))
    users = {}
    for i, e in enumerate(jaxpr.eqns):
        for x in e.invars:
            users.setdefault(id(x), []).append(i)
    for i in range(end, -1, -1):  # the rest was saved for the backward pass: it belongs where it is used
        if i not in group:
            used = [group[u] for v in jaxpr.eqns[i].outvars for u in users.get(id(v), []) if u in group]
            group[i] = next((g for g in used if g.startswith("B")), names.top)
    yields = {**{names.label(e.id, e.layer): autograd_name(e.yields) for e in deep_equations(L)}, "cost": "J"}
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
                 f"primitives, {end + 1} of them forward)", forward, backward,
                 notes("jax", X.shape[1], names, backend.activation),
                 "in jaxpr order (XLA may fuse and reorder them when it compiles)", names=names)


def _primitive(eqn):
    """An eqn's primitive name; for a call (custom_jvp_call of jax.nn.relu, …) with the primitives inside it."""
    inner = eqn.params.get("call_jaxpr") or eqn.params.get("jaxpr")
    inner = getattr(inner, "jaxpr", inner)
    if inner is None or not hasattr(inner, "eqns"):
        return eqn.primitive.name
    return f"{eqn.primitive.name}[{' '.join(_primitive(e) for e in inner.eqns)}]"


