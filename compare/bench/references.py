"""The references the backends are timed against, each checked in tests/test_bench.py to compute what
the backends compute: the course's plain loop, scikit-learn's MLPClassifier, the GEMM floor; for deep networks the
week-4 application's loop as the course writes it and the deep GEMM floor."""
import sys
import warnings

import numpy as np

import impls
from impls.base import PARAM_NAMES

REFERENCES = ("plain loop", "sklearn")


def plain_numpy_loop(params, X, Y, learning_rate, iterations):
    """The course's gradient descent as a student writes it (without the cost it also computes each step).

    Returns:
        dict W1, b1, W2, b2 after `iterations` steps (tanh hidden layer, sigmoid output).
    """
    W1, b1, W2, b2 = (params[k] for k in PARAM_NAMES)
    m = X.shape[1]
    for _ in range(iterations):
        Z1 = np.dot(W1, X) + b1
        A1 = np.tanh(Z1)
        Z2 = np.dot(W2, A1) + b2
        A2 = 1 / (1 + np.exp(-Z2))
        dZ2 = A2 - Y
        dW2 = (1 / m) * np.dot(dZ2, A1.T)
        db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
        dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
        dW1 = (1 / m) * np.dot(dZ1, X.T)
        db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
        W1 = W1 - learning_rate * dW1
        b1 = b1 - learning_rate * db1
        W2 = W2 - learning_rate * dW2
        b2 = b2 - learning_rate * db2
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


# The week-4 application's loop as the course writes it ("Building your Deep Neural Network: Step by Step" and
# dnn_app_utils): its helpers with their caches, the ReLU hidden layers and the sigmoid output, dAL from the
# cost's formula, and every layer's dA_prev including dA0 = W1ᵀ dZ1, which no parameter needs.

def course_sigmoid(Z):
    return 1 / (1 + np.exp(-Z)), Z


def course_relu(Z):
    return np.maximum(0, Z), Z


def course_relu_backward(dA, Z):
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def course_sigmoid_backward(dA, Z):
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


def course_linear_activation_forward(A_prev, W, b, activation):
    Z = np.dot(W, A_prev) + b
    A, activation_cache = course_sigmoid(Z) if activation == "sigmoid" else course_relu(Z)
    return A, ((A_prev, W, b), activation_cache)


def course_L_model_forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = course_linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    AL, cache = course_linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def course_linear_activation_backward(dA, cache, activation):
    (A_prev, W, b), Z = cache
    dZ = course_sigmoid_backward(dA, Z) if activation == "sigmoid" else course_relu_backward(dA, Z)
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def course_L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = course_linear_activation_backward(
        dAL, caches[L - 1], "sigmoid")
    for l in reversed(range(L - 1)):
        grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = course_linear_activation_backward(
            grads["dA" + str(l + 1)], caches[l], "relu")
    return grads


def course_update_parameters(params, grads, learning_rate):
    parameters = params.copy()
    for l in range(len(parameters) // 2):
        parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate * grads["dW" + str(l + 1)]
        parameters["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate * grads["db" + str(l + 1)]
    return parameters


def course_deep_loop(params, X, Y, learning_rate, iterations):
    """The week-4 application's L_layer_model as the course writes it, from `params` (without the cost it also
    computes each step): ReLU hidden layers, a sigmoid output, any depth.

    Returns:
        dict W1, b1, …, WL, bL after `iterations` steps.
    """
    parameters = params
    for _ in range(iterations):
        AL, caches = course_L_model_forward(X, parameters)
        grads = course_L_model_backward(AL, Y, caches)
        parameters = course_update_parameters(parameters, grads, learning_rate)
    return parameters


class SklearnLoop:
    """scikit-learn's MLPClassifier as the same full-batch gradient descent, started from `params`.

    One tanh hidden layer and a logistic output, solver "sgd" on batches of all m examples, no momentum,
    no L2 penalty (alpha=0), constant learning rate, no shuffling, no early stopping, and a patience
    (n_iter_no_change) no run reaches, so that it takes every step asked for.
    """

    def __init__(self, params, X, Y, learning_rate):
        from sklearn.neural_network import MLPClassifier

        self.params = params
        self.X, self.y = X.T, (Y[0] if Y.shape[0] == 1 else Y.T)  # scikit-learn's examples are rows
        self.mlp = MLPClassifier(
            hidden_layer_sizes=(params["W1"].shape[0],), activation="tanh", solver="sgd", alpha=0.0,
            batch_size=X.shape[1], learning_rate="constant", learning_rate_init=learning_rate, momentum=0.0,
            nesterovs_momentum=False, shuffle=False, early_stopping=False, tol=0.0,
            n_iter_no_change=sys.maxsize, max_iter=1, warm_start=True, random_state=0)
        self._fit()  # builds the model (one step from its own random start); run() then sets ours

    def _fit(self):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # "max_iter reached": that is the point
            self.mlp.fit(self.X, self.y)

    def run(self, iterations):
        """`iterations` steps from the starting params; returns the params in course orientation."""
        for layer, n in enumerate("12"):  # scikit-learn's weights are ours transposed, its biases flat
            self.mlp.coefs_[layer][...] = self.params["W" + n].T
            self.mlp.intercepts_[layer][...] = self.params["b" + n][:, 0]
        self.mlp.set_params(max_iter=iterations)
        self._fit()
        (c1, c2), (i1, i2) = self.mlp.coefs_, self.mlp.intercepts_
        return {"W1": c1.T.copy(), "b1": i1[:, None].copy(), "W2": c2.T.copy(), "b2": i2[:, None].copy()}


def in_framework(framework, device, products):
    """(prepare, run): prepare(*arrays) puts NumPy arrays (or lists of them) where `framework` computes (on
    `device`); run(*prepared) returns products(*prepared), finished. `products` is written with @ and .T, which
    NumPy, torch and JAX read alike; JAX compiles it once."""
    framework = impls._REGISTRY[framework][2] if framework in impls.BACKENDS else framework  # tape: numpy
    if framework == "numpy":
        return (lambda *arrays: arrays), products
    if framework == "torch":
        import torch
        from impls.backends.torch import resolve_device

        dev = resolve_device(device)

        def put(a):
            return [put(x) for x in a] if isinstance(a, (list, tuple)) else torch.as_tensor(a, device=dev)

        def run(*arrays):
            out = products(*arrays)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            return out
        return (lambda *arrays: [put(a) for a in arrays]), run
    import jax
    from impls.backends.jax import aligned, resolve_device

    dev = resolve_device(device)
    compiled = jax.jit(products)

    def put(a):
        return [put(x) for x in a] if isinstance(a, (list, tuple)) else jax.device_put(aligned(np.asarray(a)), dev)
    return (lambda *arrays: [put(a) for a in arrays]), (lambda *arrays: jax.block_until_ready(compiled(*arrays)))


def floor_products(framework, device=None):
    """The floor of the large workload: its two big products alone, in `framework`'s own matmul.

    Returns:
        (prepare, products): prepare(W1, X, dZ1) puts NumPy arrays where `framework` computes (on
        `device`); products(W1, X, dZ1) returns W1·X and dZ1·Xᵀ of prepared arrays, finished.
    """
    return in_framework(framework, device, lambda W1, X, dZ1: (W1 @ X, dZ1 @ X.T))


def deep_products(Ws, As, dZs):
    """Every matrix product of an L-layer gradient that backprop cannot avoid: W_l·A_{l−1} (F1 F3) and
    dZ_l·A_{l−1}ᵀ (B2 B5) for every layer, W_lᵀ·dZ_l (dA_{l−1}, B4) for l ≥ 2; not W1ᵀ·dZ1 (∂J/∂X, no
    parameter's). Lists indexed from layer 1: Ws[l − 1] = W_l, As[l − 1] = A_{l−1} (As[0] = X), dZs[l − 1] = dZ_l."""
    return ([W @ A for W, A in zip(Ws, As)], [dZ @ A.T for dZ, A in zip(dZs, As)],
            [W.T @ dZ for W, dZ in zip(Ws[1:], dZs[1:])])


def deep_floor_products(framework, device=None):
    """The deep workloads' floor: deep_products in `framework`'s own matmul, as (prepare, products) taking
    (Ws, As, dZs) as floor_products does."""
    return in_framework(framework, device, deep_products)


def trainer(name, X, Y, params, learning_rate, device=None, activation="tanh"):
    """run(n): n steps of full-batch gradient descent by `name` (a backend or a reference; the course loop's
    hidden layers are ReLU, so a backend's `activation` must be too for the same steps)."""
    if name == "plain loop":
        return lambda n: plain_numpy_loop(params, X, Y, learning_rate, n)
    if name == "course loop":
        return lambda n: course_deep_loop(params, X, Y, learning_rate, n)
    if name == "sklearn":
        return SklearnLoop(params, X, Y, learning_rate).run
    backend = impls.get_backend(name, dtype=X.dtype.name, device=device, activation=activation)
    return lambda n: backend.train(params, X, Y, learning_rate=learning_rate, iterations=n)
