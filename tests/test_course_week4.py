"""The course's own published numbers for week 4, reproduced.

Every expected value below is copied from the course's public test file for course 1, week 4 (the 2021+
edition): `public_tests.py` of "Building your Deep Neural Network: Step by Step" and of "Deep Neural Network -
Application", as published in student repositories, e.g. github.com/plgregori/deep-neural-network,
public_tests.py at commit 15135f1c15b5dcc6d9f1d2e4719cae4668889271 (the function each number comes from is named
at each test). The course compares to 8 printed digits (np.allclose, assert_array_almost_equal): so do we, 5e-9.
The inputs are rebuilt from the seeds the course uses, np.random.seed(n) then randn in its order.
"""
import os

import numpy as np
import pytest

import impls
from conftest import make_backend
from impls.backends import numpy_deep as deep

PRINTED = {"rtol": 0, "atol": 5e-9}  # half a unit of the 8th decimal the course prints


def seeded(seed, *shapes):
    rng = np.random.RandomState(seed)  # np.random.seed(seed); np.random.randn(...) for each shape, in order
    return [rng.randn(*shape) for shape in shapes]


def test_init_deep_params_is_initialize_parameters_deep():
    # initialize_parameters_deep_test: initialize_parameters_deep([5, 4, 3]), np.random.seed(3) and × 0.01
    p = impls.init_deep_params([5, 4, 3])
    np.testing.assert_allclose(p["W1"], [[0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388],
                                         [-0.00354759, -0.00082741, -0.00627001, -0.00043818, -0.00477218],
                                         [-0.01313865, 0.00884622, 0.00881318, 0.01709573, 0.00050034],
                                         [-0.00404677, -0.0054536, -0.01546477, 0.00982367, -0.01101068]], **PRINTED)
    np.testing.assert_allclose(p["W2"], [[-0.01185047, -0.0020565, 0.01486148, 0.00236716],
                                         [-0.01023785, -0.00712993, 0.00625245, -0.00160513],
                                         [-0.00768836, -0.00230031, 0.00745056, 0.01976111]], **PRINTED)
    assert {k: v.shape for k, v in p.items() if k[0] == "b"} == {"b1": (4, 1), "b2": (3, 1)}
    assert not p["b1"].any() and not p["b2"].any()


def test_linear_forward():
    # linear_forward_test: np.random.seed(1); A_prev (3, 2), W (1, 3), b (1, 1)
    A_prev, W, b = seeded(1, (3, 2), (1, 3), (1, 1))
    Z, cache = deep.linear_forward(A_prev, W, b)
    np.testing.assert_allclose(Z, [[3.26295337, -1.23429987]], **PRINTED)
    assert cache[0] is A_prev and cache[1] is W and cache[2] is b


def test_linear_activation_forward():
    # linear_activation_forward_test: np.random.seed(2); A_prev (3, 2), W (1, 3), b (1, 1)
    A_prev, W, b = seeded(2, (3, 2), (1, 3), (1, 1))
    A, ((A0, W0, b0), Z) = deep.linear_activation_forward(A_prev, W, b, "sigmoid")
    np.testing.assert_allclose(A, [[0.96890023, 0.11013289]], **PRINTED)
    np.testing.assert_allclose(Z, [[3.43896131, -2.08938436]], **PRINTED)
    A, _ = deep.linear_activation_forward(A_prev, W, b, "relu")
    np.testing.assert_allclose(A, [[3.43896131, 0.0]], **PRINTED)


def course_L_model_forward_case():
    # L_model_forward_test: np.random.seed(6); X (5, 4), then W1, b1, W2, b2, W3, b3
    X, W1, b1, W2, b2, W3, b3 = seeded(6, (5, 4), (4, 5), (4, 1), (3, 4), (3, 1), (1, 3), (1, 1))
    return X, {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}


EXPECTED_AL = [[0.03921668, 0.70498921, 0.19734387, 0.04728177]]
EXPECTED_Z = {1: [[-5.23825714, 3.18040136, 0.4074501, -1.88612721],
                  [-2.77358234, -0.56177316, 3.18141623, -0.99209432],
                  [4.18500916, -1.78006909, -0.14502619, 2.72141638],
                  [5.05850802, -1.25674082, -3.54566654, 3.82321852]],
              2: [[2.2644603, 1.09971298, -2.90298027, 1.54036335],
                  [6.33722569, -2.38116246, -4.11228806, 4.48582383],
                  [10.37508342, -0.66591468, 1.63635185, 8.17870169]],
              3: [[-3.19864676, 0.87117055, -1.40297864, -3.00319435]]}


def test_L_model_forward():
    X, parameters = course_L_model_forward_case()
    AL, caches = deep.L_model_forward(X, parameters, "relu")
    np.testing.assert_allclose(AL, EXPECTED_AL, **PRINTED)
    assert len(caches) == 3
    for l, ((A_prev, W, b), Z) in enumerate(caches, start=1):
        np.testing.assert_allclose(Z, EXPECTED_Z[l], **PRINTED)
        assert W is parameters[f"W{l}"] and b is parameters[f"b{l}"]
    np.testing.assert_allclose(caches[1][0][0][:, 1], [3.18040136, 0.0, 0.0, 0.0], **PRINTED)  # A1 = relu(Z1)


def test_every_backend_computes_the_courses_L_model_forward(backend_name):
    X, parameters = course_L_model_forward_case()
    forward = make_backend(backend_name, activation="relu").forward(parameters, X)
    np.testing.assert_allclose(forward["A3"], EXPECTED_AL, **PRINTED)
    for l, Z in EXPECTED_Z.items():
        np.testing.assert_allclose(forward[f"Z{l}"], Z, **PRINTED)


def test_compute_cost():
    # compute_cost_test: AL = [[.8, .9, .4]], Y = [[1, 1, 0]]. Ours takes ZL, from which AL = σ(ZL) comes.
    AL, Y = np.array([[0.8, 0.9, 0.4]]), np.array([[1.0, 1.0, 0.0]])
    assert deep.compute_cost(np.log(AL / (1 - AL)), Y) == pytest.approx(0.27977656, abs=5e-9)


def test_linear_backward():
    # linear_backward_test: np.random.seed(1); dZ (3, 4), A (5, 4), W (3, 5), b (3, 1)
    dZ, A, W, b = seeded(1, (3, 4), (5, 4), (3, 5), (3, 1))
    dA_prev, dW, db = deep.linear_backward(dZ, (A, W, b))
    np.testing.assert_allclose(dA_prev, [[-1.15171336, 0.06718465, -0.3204696, 2.09812712],
                                         [0.60345879, -3.72508701, 5.81700741, -3.84326836],
                                         [-0.4319552, -1.30987417, 1.72354705, 0.05070578],
                                         [-0.38981415, 0.60811244, -1.25938424, 1.47191593],
                                         [-2.52214926, 2.67882552, -0.67947465, 1.48119548]], **PRINTED)
    np.testing.assert_allclose(dW, [[0.07313866, -0.0976715, -0.87585828, 0.73763362, 0.00785716],
                                    [0.85508818, 0.37530413, -0.59912655, 0.71278189, -0.58931808],
                                    [0.97913304, -0.24376494, -0.08839671, 0.55151192, -0.10290907]], **PRINTED)
    np.testing.assert_allclose(db, [[-0.14713786], [-0.11313155], [-0.13209101]], **PRINTED)
    assert deep.linear_backward(dZ, (A, W, b), need_dA_prev=False)[0] is None


def test_linear_activation_backward():
    # linear_activation_backward_test: np.random.seed(2); dA (1, 2), A (3, 2), W (1, 3), b (1, 1), Z (1, 2)
    dA, A, W, b, Z = seeded(2, (1, 2), (3, 2), (1, 3), (1, 1), (1, 2))
    dA_prev, dW, db = deep.linear_activation_backward(dA, ((A, W, b), Z), "sigmoid")
    np.testing.assert_allclose(dA_prev, [[0.11017994, 0.01105339], [0.09466817, 0.00949723],
                                         [-0.05743092, -0.00576154]], **PRINTED)
    np.testing.assert_allclose(dW, [[0.10266786, 0.09778551, -0.01968084]], **PRINTED)
    np.testing.assert_allclose(db, [[-0.05729622]], **PRINTED)
    dA_prev, dW, db = deep.linear_activation_backward(dA, ((A, W, b), Z), "relu")
    np.testing.assert_allclose(dA_prev, [[0.44090989, 0.0], [0.37883606, 0.0], [-0.2298228, 0.0]], **PRINTED)
    np.testing.assert_allclose(dW, [[0.44513824, 0.37371418, -0.10478989]], **PRINTED)
    np.testing.assert_allclose(db, [[-0.20837892]], **PRINTED)


def course_L_model_backward_case():
    # L_model_backward_test: np.random.seed(3); AL (1, 2), then A1, W1, b1, Z1 and A2, W2, b2, Z2
    AL, A1, W1, b1, Z1, A2, W2, b2, Z2 = seeded(3, (1, 2), (4, 2), (3, 4), (3, 1), (3, 2), (3, 2), (1, 3),
                                                (1, 1), (1, 2))
    return AL, np.array([[1.0, 0.0]]), [((A1, W1, b1), Z1), ((A2, W2, b2), Z2)]


def test_L_model_backward_through_the_courses_dAL():
    """The course's L_model_backward case feeds AL = [[1.79, −0.84]], which is no σ(Z2) (nor a probability):
    its numbers are dAL = −(Y/AL − (1 − Y)/(1 − AL)) pulled back through σ′(Z2), not AL − Y. Our blocks
    give them when driven that way (the 2021+ convention: dA0 is ∂J/∂X times m)."""
    AL, Y, caches = course_L_model_backward_case()
    assert not np.allclose(AL, deep.sigmoid(caches[1][1]))
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    dA1, dW2, db2 = deep.linear_activation_backward(dAL, caches[1], "sigmoid")
    dA0, dW1, db1 = deep.linear_activation_backward(dA1, caches[0], "relu")
    np.testing.assert_allclose(dA1, [[0.12913162, -0.44014127], [-0.14175655, 0.48317296],
                                     [0.01663708, -0.05670698]], **PRINTED)
    np.testing.assert_allclose(dW2, [[-0.39202432, -0.13325855, -0.04601089]], **PRINTED)
    np.testing.assert_allclose(db2, [[0.15187861]], **PRINTED)
    np.testing.assert_allclose(dA0, [[0.0, 0.52257901], [0.0, -0.3269206], [0.0, -0.32070404],
                                     [0.0, -0.74079187]], **PRINTED)
    np.testing.assert_allclose(dW1, [[0.41010002, 0.07807203, 0.13798444, 0.10502167], [0.0, 0.0, 0.0, 0.0],
                                     [0.05283652, 0.01005865, 0.01777766, 0.0135308]], **PRINTED)
    np.testing.assert_allclose(db1, [[-0.22007063], [0.0], [-0.02835349]], **PRINTED)


def test_L_model_backward_on_the_courses_caches_made_consistent():
    """Where AL is σ(Z2), as every forward pass makes it, dZ2 = AL − Y (B1) is the course's dAL ⊙ σ′(Z2)."""
    _, Y, caches = course_L_model_backward_case()
    AL = deep.sigmoid(caches[1][1])
    grads = deep.L_model_backward(AL, Y, caches, "relu")
    dA1, dW2, db2 = deep.linear_activation_backward(-(Y / AL - (1 - Y) / (1 - AL)), caches[1], "sigmoid")
    _, dW1, db1 = deep.linear_activation_backward(dA1, caches[0], "relu")
    for key, value in {"dA1": dA1, "dW2": dW2, "db2": db2, "dW1": dW1, "db1": db1}.items():
        np.testing.assert_allclose(grads[key], value, rtol=1e-13, err_msg=key)
    assert sorted(grads) == ["dA1", "dW1", "dW2", "dZ1", "dZ2", "db1", "db2"]  # dA0, ∂J/∂X, is not computed


def test_update_parameters():
    # update_parameters_test: np.random.seed(2) for W1 (3, 4), b1 (3, 1), W2 (1, 3), b2 (1, 1); np.random.seed(3)
    # for the gradients of the same shapes; learning rate 0.1
    W1, b1, W2, b2 = seeded(2, (3, 4), (3, 1), (1, 3), (1, 1))
    dW1, db1, dW2, db2 = seeded(3, (3, 4), (3, 1), (1, 3), (1, 1))
    parameters = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    updated = deep.update_parameters(parameters, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}, 0.1)
    np.testing.assert_allclose(updated["W1"], [[-0.59562069, -0.09991781, -2.14584584, 1.82662008],
                                               [-1.76569676, -0.80627147, 0.51115557, -1.18258802],
                                               [-1.0535704, -0.86128581, 0.68284052, 2.20374577]], **PRINTED)
    np.testing.assert_allclose(updated["b1"], [[-0.04659241], [-1.28888275], [0.53405496]], **PRINTED)
    np.testing.assert_allclose(updated["W2"], [[-0.55569196, 0.0354055, 1.32964895]], **PRINTED)
    np.testing.assert_allclose(updated["b2"], [[-0.84610769]], **PRINTED)
    assert updated["W1"] is not W1 and parameters["W1"] is W1  # a new dict; the caller's arrays untouched


# L_layer_model_test (the application's): np.random.seed(1); X (10, 10); layers (10, 5, 6, 1); the application's
# initialize_parameters_deep: np.random.seed(1), randn / √n_{l−1}; ReLU hidden layers.
L_LAYER_Y = [[1, 1, 1, 1, 0, 0, 0, 1, 1, 0]]
L_LAYER_EXPECTED = {  # after 2 iterations at learning rate 0.0075 (the first cost 0.70723944), and 3 at 0.02
    (0.0075, 2): {
        "W1": [[0.51384638, -0.19333098, -0.16705238, -0.33923196, 0.273477, -0.72775498, 0.55170785, -0.24077478,
                0.10082452, -0.07882423],
               [0.46227786, -0.65153639, -0.10192959, -0.12150984, 0.35855025, -0.34787253, -0.05455001,
                -0.27767163, 0.01337835, 0.1843845],
               [-0.34790478, 0.36200264, 0.28511245, 0.15868454, 0.284931, -0.21645471, -0.03877896, -0.29584578,
                -0.08480802, 0.16760667],
               [-0.21835973, -0.12531366, -0.21720823, -0.26764975, -0.21214946, -0.00438229, -0.35316347,
                0.07432144, 0.52474685, 0.23453653],
               [-0.06060968, -0.28061463, -0.23624839, 0.53526844, 0.01597194, -0.20136496, 0.06021639, 0.66414167,
                0.03804666, 0.19528599]],
        "b1": [[-2.16491028e-04], [1.50999130e-04], [8.71516045e-06], [5.57557615e-05], [-2.90746349e-05]],
        "W2": [[0.13428358, -0.15747685, -0.51095667, -0.15624083, -0.09342034],
               [0.26226685, 0.3751336, 0.41644174, 0.12779375, 0.39573817],
               [-0.33726917, 0.56041154, 0.22939257, -0.1333337, 0.21851314],
               [-0.03377599, 0.50617255, 0.67960046, 0.97726521, -0.62458844],
               [-0.64581803, -0.22559264, 0.0715349, 0.39173682, 0.14112904],
               [-0.9043503, -0.13693179, 0.37026002, 0.10284282, 0.34076545]],
        "b2": [[1.80215514e-07], [-1.07935097e-04], [1.63081605e-04], [-3.51202008e-05], [-7.40012619e-05],
               [-4.43814901e-05]],
        "W3": [[-0.09079199, -0.08117381, 0.07667568, 0.16665535, 0.08029575, 0.04805811]],
        "b3": [[0.0013201]]},
    (0.02, 3): {
        "W1": [[0.51439065, -0.19296367, -0.16714033, -0.33902173, 0.27291558, -0.72759069, 0.55155832, -0.24095201,
                0.10063293, -0.07872596],
               [0.46203186, -0.65172685, -0.10184775, -0.12169458, 0.35861847, -0.34804029, -0.05461748,
                -0.27787524, 0.01346693, 0.18463095],
               [-0.34748255, 0.36202977, 0.28512463, 0.1580327, 0.28509518, -0.21717447, -0.03853304, -0.29563725,
                -0.08509025, 0.16728901],
               [-0.21727997, -0.12486465, -0.21692552, -0.26875722, -0.21180188, -0.00550575, -0.35268367,
                0.07489501, 0.52436384, 0.23418418],
               [-0.06045008, -0.28038304, -0.23617868, 0.53546925, 0.01569291, -0.20115358, 0.05975429, 0.66409149,
                0.03819309, 0.1956102]],
        "b1": [[-8.61228305e-04], [6.08187689e-04], [3.53075377e-05], [2.21291877e-04], [-1.13591429e-04]],
        "W2": [[0.13441428, -0.15731437, -0.51097778, -0.15627102, -0.09342034],
               [0.2620349, 0.37492336, 0.4165605, 0.12801536, 0.39541677],
               [-0.33694339, 0.56075022, 0.22940292, -0.1334017, 0.21863717],
               [-0.03371679, 0.50644769, 0.67935577, 0.97680859, -0.62475679],
               [-0.64579072, -0.22555897, 0.07142896, 0.3914475, 0.14104814],
               [-0.90433399, -0.13691167, 0.37019673, 0.10266999, 0.34071712]],
        "b2": [[1.18811550e-06], [-4.25510194e-04], [6.56178455e-04], [-1.42335482e-04], [-2.93618626e-04],
               [-1.75573157e-04]],
        "W3": [[-0.09087434, -0.07882982, 0.07821609, 0.16442826, 0.0783229, 0.04648216]],
        "b3": [[0.00525865]]},
}


@pytest.mark.parametrize("learning_rate, iterations", list(L_LAYER_EXPECTED))
def test_every_backend_trains_the_applications_L_layer_model(backend_name, learning_rate, iterations):
    (X,) = seeded(1, (10, 10))
    start = impls.init_deep_params([10, 5, 6, 1], seed=1, scale="sqrt")
    result = make_backend(backend_name, activation="relu").train(start, X, np.array(L_LAYER_Y, dtype=float),
                                                                 learning_rate=learning_rate, iterations=iterations)
    assert result.costs[0][1] == pytest.approx(0.70723944, abs=5e-9)
    for k, expected in L_LAYER_EXPECTED[(learning_rate, iterations)].items():
        # the course prints 8 significant digits where an entry is below 1e-3 (b1 = -2.16491028e-04)
        np.testing.assert_allclose(result.params[k], expected, rtol=5e-8, atol=5e-9, err_msg=k)


COURSE_FILE = os.environ.get("BACKPROP_COMPARE_CATVNONCAT")  # the course's train_catvnoncat.h5, not shipped


@pytest.mark.slow
@pytest.mark.skipif(not COURSE_FILE, reason="set BACKPROP_COMPARE_CATVNONCAT to the course's train_catvnoncat.h5")
def test_the_applications_four_layer_model_on_the_courses_own_data(backend_name):
    """The application notebook's printed costs, "Cost after iteration 0: 0.7717493284237686" and "Cost after
    iteration 100: 0.6720534400822914", for layers_dims [12288, 20, 7, 5, 1] at learning rate 0.0075."""
    from impls.io.datasets import load_dataset
    X, Y = load_dataset(COURSE_FILE)
    start = impls.init_deep_params([12288, 20, 7, 5, 1], seed=1, scale="sqrt")
    result = make_backend(backend_name, activation="relu").train(start, X, Y, learning_rate=0.0075, iterations=100,
                                                                 record_every=100)
    assert result.costs[0][1] == pytest.approx(0.7717493284237686, rel=1e-12)
    assert result.final_cost == pytest.approx(0.6720534400822914, rel=1e-12)
