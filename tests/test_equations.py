"""The one table of the ten equations matches the code that computes them."""
import numpy as np
import pytest

import impls
from impls.backends import numpy as numpy_backend
from compare.equations import BY_ID, EQUATIONS, IDS, PRODUCED_BY
from compare.teach.explain import tagged_lines


def test_each_tagged_numpy_line_assigns_the_array_its_equation_yields():
    tags = tagged_lines(numpy_backend.__file__)
    assert sorted(tags) == sorted(IDS)
    for eq in EQUATIONS:
        last_line = tags[eq.id][1].splitlines()[-1]
        assert last_line.startswith(f"{eq.yields} = "), (eq.id, last_line)


def test_shapes_follow_the_backend_for_uneven_sizes():
    n_x, n_h, n_y, m = 3, 5, 2, 7
    rng = np.random.RandomState(0)
    X, Y = rng.randn(n_x, m), (rng.rand(n_y, m) > 0.5).astype(float)
    backend = impls.get_backend("numpy")
    p = impls.init_params(n_x, n_h, n_y)
    arrays = {**backend.forward(p, X), **backend.gradients(p, X, Y), **backend.intermediates(p, X, Y)}
    for eq in EQUATIONS:
        assert arrays[eq.yields].shape == eq.shape_for(n_x, n_h, n_y, m), eq.id
    assert arrays["dA1"].shape == BY_ID[PRODUCED_BY["dA1"]].shape_for(n_x, n_h, n_y, m)


def test_the_activation_is_written_into_f2_and_b4():
    assert BY_ID["F2"].text("relu") == "A1 = relu(Z1)"
    assert BY_ID["B4"].text("tanh") == "dZ1 = W2ᵀ dZ2 ⊙ (1 − A1²)"


WEEK_3 = (  # the table as week 3 wrote it before any depth was: deep_equations(2) must be exactly this
    ("F1", "Z1 = W1 X + b1", "Z1", ("n_h", "m")), ("F2", "A1 = {g}(Z1)", "A1", ("n_h", "m")),
    ("F3", "Z2 = W2 A1 + b2", "Z2", ("n_y", "m")), ("F4", "A2 = σ(Z2)", "A2", ("n_y", "m")),
    ("B1", "dZ2 = A2 − Y", "dZ2", ("n_y", "m")), ("B2", "dW2 = (1/m) dZ2 A1ᵀ", "dW2", ("n_y", "n_h")),
    ("B3", "db2 = (1/m) Σ dZ2, keepdims", "db2", ("n_y", "1")),
    ("B4", "dZ1 = W2ᵀ dZ2 ⊙ {gp}", "dZ1", ("n_h", "m")),
    ("B5", "dW1 = (1/m) dZ1 Xᵀ", "dW1", ("n_h", "n_x")), ("B6", "db1 = (1/m) Σ dZ1, keepdims", "db1", ("n_h", "1")))


def test_the_deep_table_at_two_layers_is_week_3s():
    from compare.equations import deep_equations
    assert [(e.id, e.formula, e.yields, e.shape) for e in deep_equations(2)] == list(WEEK_3)
    assert deep_equations(2) == EQUATIONS
    assert [e.layer for e in EQUATIONS] == [1, 1, 2, 2, 2, 2, 2, 1, 1, 1]


def test_the_deep_table_rows_in_the_order_they_are_computed():
    from compare.equations import deep_by_row, deep_equations, deep_produced_by
    rows = deep_equations(3)
    assert [(e.id, e.layer, e.text("relu")) for e in rows] == [
        ("F1", 1, "Z1 = W1 X + b1"), ("F2", 1, "A1 = relu(Z1)"), ("F1", 2, "Z2 = W2 A1 + b2"),
        ("F2", 2, "A2 = relu(Z2)"), ("F3", 3, "Z3 = W3 A2 + b3"), ("F4", 3, "A3 = σ(Z3)"),
        ("B1", 3, "dZ3 = A3 − Y"), ("B2", 3, "dW3 = (1/m) dZ3 A2ᵀ"), ("B3", 3, "db3 = (1/m) Σ dZ3, keepdims"),
        ("B4", 2, "dZ2 = W3ᵀ dZ3 ⊙ (Z2 > 0)"), ("B5", 2, "dW2 = (1/m) dZ2 A1ᵀ"),
        ("B6", 2, "db2 = (1/m) Σ dZ2, keepdims"), ("B4", 1, "dZ1 = W2ᵀ dZ2 ⊙ (Z1 > 0)"),
        ("B5", 1, "dW1 = (1/m) dZ1 Xᵀ"), ("B6", 1, "db1 = (1/m) Σ dZ1, keepdims")]
    assert deep_by_row(3)[("B4", 2)].text("tanh") == "dZ2 = W3ᵀ dZ3 ⊙ (1 − A2²)"
    assert [e.shape for e in rows[:2]] == [("n_1", "m"), ("n_1", "m")] and rows[7].shape == ("n_y", "n_2")
    assert deep_produced_by(3)["dA2"] == ("B4", 2) and deep_produced_by(3)["db3"] == ("B3", 3)
    # one layer: logistic regression, the output layer's rows only
    assert [(e.id, e.text()) for e in deep_equations(1)] == [
        ("F3", "Z1 = W1 X + b1"), ("F4", "A1 = σ(Z1)"), ("B1", "dZ1 = A1 − Y"), ("B2", "dW1 = (1/m) dZ1 Xᵀ"),
        ("B3", "db1 = (1/m) Σ dZ1, keepdims")]
    for bad in (0, 2.0, True, "3"):
        with pytest.raises(ValueError, match="L must be a whole number >= 1"):
            deep_equations(bad)


@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_deep_shapes_follow_the_backend(L):
    from compare.equations import deep_equations, deep_produced_by
    from conftest import DEEP_DIMS, deep_problem
    dims, m = DEEP_DIMS[L], 7
    X, Y, params = deep_problem(dims, m)
    backend = impls.get_backend("numpy")
    arrays = {**backend.forward(params, X), **backend.gradients(params, X, Y), **backend.intermediates(params, X, Y)}
    rows = deep_equations(L)
    assert {e.yields for e in rows} | {k for k in arrays if k.startswith("dA")} == set(arrays)
    for e in rows:
        assert arrays[e.yields].shape == e.shape_in(dims, m), (e.id, e.layer)
    for name, (eq, layer) in deep_produced_by(L).items():
        assert arrays[name].shape[0] == dims[layer]


def test_every_deep_row_has_its_tagged_line_in_the_hand_written_deep_network():
    """`# F1 F3` tags the line that computes F1 at a hidden layer and F3 at the output; each line assigns the
    array its rows yield (B4's two halves: dA_{l−1} = W_lᵀ dZ_l, then ⊙ g′(Z_l))."""
    from compare.equations import deep_equations, line_tags
    from impls.backends import numpy_deep
    tags = line_tags(numpy_deep.__file__)
    assert sorted(tags) == sorted(IDS)
    assigned = {"F1": "Z", "F3": "Z", "F2": "A", "F4": "A", "B1": "dZ", "B2": "dW", "B5": "dW", "B3": "db",
                "B6": "db"}
    for eq in deep_equations(4):
        for _, code in tags[eq.id]:
            target = code.split(" = ")[0]
            if eq.id == "B4":
                assert target in ("dA_prev", "dZ"), code
            else:
                assert target.removeprefix('grads[f"').startswith(assigned[eq.id]), (eq.id, code)
    assert [code.split(" = ")[0] for _, code in tags["B4"]] == ["dA_prev", "dZ"]
    # the week-3 lines keep their one tag each
    assert all(len(lines) == 1 for lines in line_tags(numpy_backend.__file__).values())
