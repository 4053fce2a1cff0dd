"""torch's trace: the grad_fn nodes reached through next_functions, in the order the autograd engine calls them
(hooks record it), each named by what it yields in the course's names, at any depth."""
from compare.teach.trace.steps import Names, Step, Trace, _shape, partial

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

    from compare.teach.trace import notes
    from impls.backends.torch import cross_entropy

    names_ = Names(len(params) // 2)
    L = names_.L
    p, Xt, Yt = backend._inputs(params, X, Y)
    p = {k: w.detach().requires_grad_() for k, w in p.items()}
    cache = (backend._forward if L == 2 else backend._deep_forward)(p, Xt)
    J = cross_entropy(cache[f"Z{L}"], Yt)
    names = {c.grad_fn: k for k, c in cache.items()}
    shape_of = {**{k: _shape(v) for k, v in {**p, **cache}.items()}, "X": _shape(Xt), "Y": _shape(Yt), "m": "scalar"}
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
        equation.setdefault(node, names_.forward.get(names.get(node), "cost"))
        for child, _ in node.next_functions:
            if child is not None:
                equation.setdefault(child, names_.forward.get(names.get(child), equation[node]))

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
    for node, _, grad_outputs in ran:  # what each node made has the shape of the gradient it received
        if grad_outputs and grad_outputs[0] is not None:
            shape_of.setdefault(names[node], _shape(grad_outputs[0]))
    forward = [Step(n.name(), f"= {_stem(n).lower()}({', '.join(args[n])})",
                    f"{' '.join(shape_of.get(a, '?') for a in args[n])} → {shape_of.get(names[n], '?')}",
                    names[n], equation[n]) for n, _, _ in reversed(ran) if not hasattr(n, "variable")]
    off_path = cache[f"A{L}"].grad_fn
    forward.append(Step(off_path.name(), f"= sigmoid(Z{L}): not on J's path, its node never runs",
                        f"{shape_of[f'Z{L}']} → {shape_of[f'A{L}']}", f"A{L}", names_.output))
    terms = {}
    for node, grad_inputs, _ in ran:
        for (child, _), g in zip(node.next_functions, grad_inputs):
            if child is not None and g is not None and not hasattr(node, "variable"):
                terms[child] = terms.get(child, 0) + 1
    counted, backward = {}, []
    for node, grad_inputs, grad_outputs in ran:
        upstream = _shape(grad_outputs[0]) if grad_outputs and grad_outputs[0] is not None else ""
        if hasattr(node, "variable"):
            name, eq = names_.gradient_of[names[node]]
            backward.append(Step(node.name().rpartition("::")[2], f"adds the arriving {name} into "
                                 f"{names[node]}.grad", f"{upstream} → {names[node]}.grad", name, eq))
            continue
        rules = TORCH_RULES.get(_stem(node), ())
        for i, ((child, _), g) in enumerate(zip(node.next_functions, grad_inputs)):
            if child is None or g is None:
                continue
            name, eq = names_.gradient(names[child], equation[child])
            counted[child] = counted.get(child, 0) + 1
            name, why = partial(name, names[child], counted[child], terms[child])
            rule = rules[i].format(*args[node]) if i < len(rules) else f"torch's rule for {node.name()}"
            backward.append(Step(node.name(), f"{_stem(node).lower()}: grad wrt {names[child]} = {rule}{why}",
                                 f"{upstream} → {_shape(g)}", name, eq))
    return Trace("torch.autograd", f"the grad_fn graph of J ({len(seen)} nodes, walked through next_functions, "
                 "in the order the engine called them)", forward, backward, notes("torch", X.shape[1], names_),
                 names=names_)
