"""`explain --graph PATH.png`: the computational graph the tape records, drawn with matplotlib alone.

Top: the forward pass left to right (parameters and data, each operation with its equation F1–F4 and the
cost). Bottom: the backward pass right to left, one box per operation on J's path, labelled with the
gradient it yields in the course's names and its equation B1–B6; the parameters' gradients below it.
Everything comes from compare.teach.trace.walk_tape, the same live walk as `explain --trace`.
"""
import io

from compare.teach.trace import Names, _shape, walk_tape
from impls.base import names_text

COLOURS = {"F": "#dbe9f6", "B": "#fde2c8", "cost": "#e5e5e5", "leaf": "#ffffff", "grad": "#fff5cc"}


def layout(nodes):
    """{id(Var): (column, row)} for every value: each op one column right of its latest input."""
    column, row = {}, {}
    for node in nodes:
        for x in node.inputs:
            column.setdefault(id(x), None)
        column[id(node.out)] = 1 + max((column[id(x)] or 0) for x in node.inputs)
    for node in nodes:  # leaves (parameters, X, Y) sit above the first op that reads them, one row up
        leaves = [x for x in node.inputs if column[id(x)] is None]
        for i, x in enumerate(leaves):  # two (W1 and X) side by side
            column[id(x)] = column[id(node.out)] + 0.45 * (i - (len(leaves) - 1) / 2)
            row[id(x)] = 1
    used = {}
    # ops in the same column stack downwards: one reading a leaf first (its arrow comes from above), ops
    # off J's path (A2 = σ(Z2)) last
    for node in sorted(nodes, key=lambda n: (n.out.grad is None, not any(id(x) in row for x in n.inputs))):
        c = column[id(node.out)]
        row[id(node.out)] = -used.get(c, 0) * 0.9
        used[c] = used.get(c, 0) + 1
    return {k: (column[k], row[k]) for k in column}


def draw(nodes, equation, title, names=Names(2)):
    """A matplotlib Figure of the forward and backward graph of the walked tape (`names`: the rows at its depth,
    whose labels name the layer past two layers: F1 l2)."""
    from matplotlib.patches import FancyArrowPatch

    from compare.plots import _pyplot

    plt = _pyplot()
    pos = layout(nodes)
    depth = max(c for c, _ in pos.values())
    first = min(c for c, _ in pos.values())
    fig, ax = plt.subplots(figsize=(1.75 * depth + 2.5, 9.5))
    back_row, grad_row = -3.4, -5.6
    values = {id(x): x for n in nodes for x in (*n.inputs, n.out)}
    boxes = {}

    def box(key, xy, text, colour, bold=False):
        boxes[key] = ax.text(*xy, text, ha="center", va="center", fontsize=8.5, zorder=3,
                             weight="bold" if bold else "normal",
                             bbox={"boxstyle": "round,pad=0.35", "fc": colour, "ec": "#555555"})

    def arrow(a, b, colour="#555555"):
        ax.add_patch(FancyArrowPatch(boxes[a].get_position(), boxes[b].get_position(), zorder=2,
                                     patchA=boxes[a].get_bbox_patch(), patchB=boxes[b].get_bbox_patch(),
                                     arrowstyle="-|>", mutation_scale=11, color=colour, lw=1.0))

    for key, (c, r) in pos.items():
        v = values[key]
        if r == 1:
            box(key, (c, r + 0.3), f"{v.name}\n{_shape(v.value)}", COLOURS["leaf"], bold=v.requires_grad)
    for node in nodes:
        eq = equation[id(node.out)]
        box(id(node.out), pos[id(node.out)], f"{eq}  {node.op}\n{node.out.name}  {_shape(node.out.value)}",
            COLOURS["cost" if eq == "cost" else "F"])
    for node in nodes:
        for x in node.inputs:
            arrow(id(x), id(node.out))
    on_path = [n for n in nodes if n.out.grad is not None]
    for node in on_path:  # the backward pass: one box per op on J's path, under its forward op
        c, r = pos[id(node.out)]
        name, eq = names.gradient(node.out.name, equation[id(node.out)])
        arriving = "∂J/∂J = 1" if node is on_path[-1] else name + (
            "" if name.startswith("∂") else f" = ∂J/∂{node.out.name}")
        box(("back", id(node.out)), (c, back_row + r), f"{eq}  {node.op}′\nreceives {arriving}", COLOURS["B"])
    for node in on_path:
        for x in node.inputs:
            if not x.requires_grad:
                continue
            if pos[id(x)][1] == 1:  # a parameter: its gradient, the course's dW or db, below
                gname, geq = names.gradient(x.name, None)
                box(("grad", id(x)), (pos[id(x)][0], grad_row), f"{geq}: {gname}\n{_shape(x.grad)}",
                    COLOURS["grad"], bold=True)
                arrow(("back", id(node.out)), ("grad", id(x)), "#c0504d")
            else:
                arrow(("back", id(node.out)), ("back", id(x)), "#c0504d")
    for y, text in ((1.9, "parameters (bold) and data"), (0.55, "forward pass: F1–F4 and the cost J"),
                    (back_row + 0.65, "backward pass, right to left: each op applies its vector-Jacobian product"),
                    (grad_row - 0.85, "the parameters' gradients, the course's "
                                      + names_text(names.L).replace("W", "dW").replace("b", "db"))):
        ax.text(first - 0.6, y, text, fontsize=9.5, style="italic", color="#333333")
    ax.set_xlim(first - 0.7, depth + 0.7)
    ax.set_ylim(grad_row - 1.1, 2.2)
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def write_graph(path, params, X, Y, *, activation="tanh", dtype="float64"):
    """Draw the tape's computational graph at params, X, Y into the PNG file `path`, atomically."""
    import impls
    from compare.plots import _pyplot
    from impls.io.files import atomic_write

    backend = impls.get_backend("tape", activation=activation, dtype=dtype)
    nodes, equation = walk_tape(backend, params, X, Y)
    names = Names(len(params) // 2)
    layers = "" if names.L == 2 else f"L = {names.L} layers, row and layer as F1 l2, "
    fig = draw(nodes, equation, f"The computational graph of J, as the tape records it ({layers}{activation}, "
                                f"m = {X.shape[1]}): forward F1–F4 above, backward B1–B6 below", names)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    _pyplot().close(fig)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
    return path
