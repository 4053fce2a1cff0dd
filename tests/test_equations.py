"""The one table of the ten equations matches the code that computes them."""
import numpy as np

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
