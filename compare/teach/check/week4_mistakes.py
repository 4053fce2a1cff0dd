"""Week 4's known mistakes, each computed here as the student's code would compute it, so that a wrong answer
that equals one of them is named: what was written, why it is wrong, the fix. Real students' mistakes, from the
course's forums; several pass the course's own tests (one L = 3 forward test, one L = 2 backward test)."""
import numpy as np

from impls.backends.numpy import sigmoid


def _relu_backward(dA, Z):
    return dA * (Z > 0)


def _sigmoid_backward(dA, Z):
    s = sigmoid(Z)
    return dA * s * (1 - s)


def _linear_backward(dZ, A_prev, W):
    m = A_prev.shape[1]
    return W.T @ dZ, dZ @ A_prev.T / m, np.sum(dZ, axis=1, keepdims=True) / m


def backward(AL, Y, caches, top_dA=False, negative=False, hidden_sigmoid=False, output_linear=False,
             over_m=False):
    """The course's L_model_backward (2021+ keys: dA{l} is ∂J/∂A_l), with one of the mistakes switched on:
    top_dA: every hidden layer gets dA{L-1}; negative: layer l + 1 reads caches[-l] (l = L-2 … 0);
    hidden_sigmoid: sigmoid_backward in the ReLU layers; output_linear: the output layer through linear_backward
    alone (dZL = dAL); over_m: dAL divided by m. Raises where the shapes do not fit, as the student's would."""
    L, m, grads = len(caches), AL.shape[1], {}
    dAL = -(Y / AL - (1 - Y) / (1 - AL)) / (m if over_m else 1)
    (A_prev, W, _), Z = caches[L - 1]
    dZ = dAL if output_linear else _sigmoid_backward(dAL, Z)
    grads[f"dA{L - 1}"], grads[f"dW{L}"], grads[f"db{L}"] = _linear_backward(dZ, A_prev, W)
    for l in reversed(range(L - 1)):
        (A_prev, W, _), Z = caches[-l if negative else l]
        dA = grads[f"dA{L - 1}" if top_dA else f"dA{l + 1}"]
        dZ = (_sigmoid_backward if hidden_sigmoid else _relu_backward)(dA, Z)
        grads[f"dA{l}"], grads[f"dW{l + 1}"], grads[f"db{l + 1}"] = _linear_backward(dZ, A_prev, W)
    return grads


def forward_w3(X, params):
    """L_model_forward with the output layer hard-coded as parameters['W3'], parameters['b3']."""
    L, A = len(params) // 2, X
    for l in range(1, L):
        A = np.maximum(0, params[f"W{l}"] @ A + params[f"b{l}"])
    return sigmoid(params["W3"] @ A + params["b3"])


# L_model_backward's: (switch, what the code does, why it is wrong, the fix)
BACKWARD = [
    ("top_dA", "feeds the top layer's dA to every hidden layer (grads[\"dA\" + str(L - 1)] inside the loop)",
     "each layer's dZ starts from its own dA, the one the layer above it just computed; with one hidden layer "
     "(the course's L = 2 test) the two are the same",
     "linear_activation_backward(grads[\"dA\" + str(l + 1)], current_cache, \"relu\") for l in "
     "reversed(range(L - 1))"),
    ("negative", "reads the caches as caches[-l]",
     "caches[0] is layer 1's and caches[L - 1] the output layer's: for l = 0 caches[-0] is caches[0], so the "
     "course's L = 2 test passes, but for l = 1 caches[-1] is the output layer's cache",
     "current_cache = caches[l] for l in reversed(range(L - 1))"),
    ("hidden_sigmoid", "uses the sigmoid's derivative in the ReLU layers",
     "the hidden layers' activation is ReLU, whose derivative is 1 where Z > 0 and 0 elsewhere; σ′ belongs to the "
     "output layer only", "linear_activation_backward(..., activation=\"relu\") for the hidden layers"),
    ("output_linear", "sends the output layer through linear_backward without its activation (dZL = dAL)",
     "dAL is ∂L/∂AL; the output layer's dZL = dAL ⊙ σ′(ZL) = AL − Y",
     "linear_activation_backward(dAL, current_cache, \"sigmoid\") for the output layer"),
    ("over_m", "divides dAL by m, and linear_backward divides by m again: every gradient is 1/m too small",
     "the course's dAL = -(Y/AL - (1-Y)/(1-AL)) is per example; the one 1/m is in dW and db",
     "dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))"),
]
