"""The L-layer network by hand, as the course's week 4 writes it: "Building your Deep Neural Network: Step by
Step". Each function is the course's, with its signature; caches are ((A_prev, W, b), Z) per layer and the
gradients' keys dA{l}, dW{l}, db{l} (dA{l} is ∂J/∂A_l times m, the 2021+ course's convention).

One line serves a row of the equation table at every layer it runs for: its comment names both ids, F1 F3 on
the line that is F1 for a hidden layer and F3 for the output layer (compare.equations.deep_equations and
line_tags). No autograd of any kind.
"""
import numpy as np

from impls.backends.numpy import ACTIVATIONS, cross_entropy, sigmoid


def linear_forward(A_prev, W, b):
    """Z = W A_prev + b; returns (Z, linear_cache = (A_prev, W, b))."""
    Z = np.dot(W, A_prev) + b                                       # F1 F3
    return Z, (A_prev, W, b)


def linear_activation_forward(A_prev, W, b, activation):
    """A = g(Z) after linear_forward: `activation` a hidden layer's (ACTIVATIONS), or "sigmoid" for the output.
    Returns (A, cache = (linear_cache, Z))."""
    Z, linear_cache = linear_forward(A_prev, W, b)
    A = ACTIVATIONS[activation][0](Z)                               # F2 F4
    return A, (linear_cache, Z)


def L_model_forward(X, parameters, activation="relu"):
    """[LINEAR -> activation] × (L − 1) -> LINEAR -> SIGMOID. Returns (AL, caches), one cache per layer."""
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], activation)
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters[f"W{L}"], parameters[f"b{L}"], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(ZL, Y):
    """The cross-entropy −(1/m) Σ [Y log AL + (1 − Y) log(1 − AL)], from ZL rather than AL = σ(ZL): the same
    number, finite even where σ(ZL) rounds to exactly 0 or 1 (the course's log(AL) is −inf there)."""
    return cross_entropy(ZL, Y)


def linear_backward(dZ, cache, need_dA_prev=True):
    """From dZ of one layer: (dA_prev, dW, db). `need_dA_prev=False` for the first layer, whose dA_prev would be
    ∂J/∂X: no parameter's gradient, and a product as large as the layer's forward one (returned as None)."""
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = np.dot(dZ, A_prev.T) / m                                   # B2 B5
    db = np.sum(dZ, axis=1, keepdims=True) / m                      # B3 B6
    dA_prev = np.dot(W.T, dZ) if need_dA_prev else None             # B4  dA_{l−1} = W_lᵀ dZ_l, its first half
    return dA_prev, dW, db


def activation_backward(dA, activation_cache, activation):
    """dZ = dA ⊙ g′(Z) for a hidden layer, g′ from Z (the cache) as the course's relu_backward does."""
    Z = activation_cache
    g, g_prime = ACTIVATIONS[activation]
    dZ = dA * g_prime(Z, g(Z))                                      # B4  ⊙ g′(Z_l), its second half
    return dZ


def linear_activation_backward(dA, cache, activation):
    """One hidden layer backwards: dZ = dA ⊙ g′(Z), then linear_backward. Returns (dA_prev, dW, db)."""
    linear_cache, activation_cache = cache
    dZ = activation_backward(dA, activation_cache, activation)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches, activation="relu"):
    """Gradients of every layer, from the output back: grads dA{l}, dW{l}, db{l}, and dZ{l} (kept for the
    comparison's intermediates). The output's dZL = AL − Y is what the course's dAL ⊙ σ′(ZL) comes to."""
    grads = {}
    L = len(caches)
    grads[f"dZ{L}"] = AL - Y                                        # B1
    grads[f"dA{L - 1}"], grads[f"dW{L}"], grads[f"db{L}"] = linear_backward(grads[f"dZ{L}"], caches[L - 1][0],
                                                                          need_dA_prev=L > 1)
    for l in reversed(range(1, L)):
        # linear_activation_backward in its two halves, so that dZ{l} is kept
        linear_cache, activation_cache = caches[l - 1]
        grads[f"dZ{l}"] = activation_backward(grads[f"dA{l}"], activation_cache, activation)
        grads[f"dA{l - 1}"], grads[f"dW{l}"], grads[f"db{l}"] = linear_backward(grads[f"dZ{l}"], linear_cache,
                                                                              need_dA_prev=l > 1)
    del grads["dA0"]  # not computed: ∂J/∂X is no parameter's gradient
    return grads


def update_parameters(parameters, grads, learning_rate):
    """θ := θ − α·dθ for every parameter, into a new dict (the caller's arrays are never changed)."""
    return {k: w - learning_rate * grads["d" + k] for k, w in parameters.items()}


def cache_arrays(AL, caches):
    """Z1, A1, …, ZL, AL from L_model_forward's caches: Z_l is layer l's activation cache, A_l (l < L) the
    A_prev of layer l + 1."""
    out = {}
    for l, (_, Z) in enumerate(caches, start=1):
        out[f"Z{l}"] = Z
        out[f"A{l}"] = caches[l][0][0] if l < len(caches) else AL
    return out
