"""A user's own L-layer network, written as a week-4 student writes it: plain NumPy, caches ((A_prev, W, b), Z)
per layer, not an impls.Backend. `DeepMine` is correct at any depth; the others each plant one of the course's
classic week-4 mistakes, which the comparison's first-difference walk must find at its layer and equation.

    python -m compare run --hidden 5,5,5 --activation relu --backends numpy,tests/user_backends/deep.py:DeepMine
"""
from types import SimpleNamespace

import numpy as np

G = {"relu": (lambda Z: np.maximum(Z, 0), lambda Z: (Z > 0).astype(Z.dtype)),
     "tanh": (np.tanh, lambda Z: 1 - np.tanh(Z) ** 2),
     "sigmoid": (lambda Z: 1 / (1 + np.exp(-Z)), lambda Z: np.exp(-Z) / (1 + np.exp(-Z)) ** 2),
     "leaky_relu": (lambda Z: np.where(Z > 0, Z, 0.01 * Z), lambda Z: np.where(Z > 0, 1.0, 0.01).astype(Z.dtype))}


class DeepMine:
    name = "deep-mine"

    def __init__(self, *, activation="relu", dtype="float64", device=None):
        self.activation, self.dtype, self.device = activation, dtype, device

    def _p(self, params):
        return {k: np.asarray(v, dtype=self.dtype) for k, v in params.items()}

    def L_model_forward(self, X, parameters):
        caches, A, L = [], np.asarray(X, dtype=self.dtype), len(parameters) // 2
        for l in range(1, L + 1):
            W, b = parameters[f"W{l}"], parameters[f"b{l}"]
            Z = W @ A + b
            caches.append(((A, W, b), Z))
            A = G[self.activation][0](Z) if l < L else 1 / (1 + np.exp(-Z))
        return A, caches

    def forward(self, params, X):
        AL, caches = self.L_model_forward(X, self._p(params))
        out = {}
        for l, (_, Z) in enumerate(caches, start=1):
            out[f"Z{l}"], out[f"A{l}"] = Z, caches[l][0][0] if l < len(caches) else AL
        return out

    def cost(self, params, X, Y):
        _, caches = self.L_model_forward(X, self._p(params))
        ZL, Y = caches[-1][1], np.asarray(Y, dtype=self.dtype)
        return float(np.sum(np.logaddexp(0, ZL) - Y * ZL) / Y.shape[1])

    # the pieces of the backward pass, each one a place a student can go wrong
    def bias_gradient(self, dZ, m, l):
        return np.sum(dZ, axis=1, keepdims=True) / m

    def weight_gradient(self, dZ, caches, l, m):
        A_prev = caches[l - 1][0][0]
        return dZ @ A_prev.T / m

    def hidden_dZ(self, grads, caches, l):
        return grads[f"dA{l}"] * G[self.activation][1](caches[l - 1][1])

    def L_model_backward(self, params, X, Y):
        AL, caches = self.L_model_forward(X, self._p(params))
        Y, L, m = np.asarray(Y, dtype=self.dtype), len(caches), np.shape(X)[1]
        grads = {f"dZ{L}": AL - Y}
        for l in range(L, 0, -1):
            if l < L:
                grads[f"dZ{l}"] = self.hidden_dZ(grads, caches, l)
            dZ, W = grads[f"dZ{l}"], caches[l - 1][0][1]
            grads[f"dW{l}"] = self.weight_gradient(dZ, caches, l, m)
            grads[f"db{l}"] = self.bias_gradient(dZ, m, l)
            if l > 1:
                grads[f"dA{l - 1}"] = W.T @ dZ
        return grads

    def gradients(self, params, X, Y):
        return {k: v for k, v in self.L_model_backward(params, X, Y).items() if k[:2] in ("dW", "db")}

    def intermediates(self, params, X, Y):
        return {k: v for k, v in self.L_model_backward(params, X, Y).items() if k[:2] in ("dZ", "dA")}

    def predict(self, params, X):
        AL, _ = self.L_model_forward(X, self._p(params))
        return (AL > 0.5).astype(np.int64)

    def train(self, params, X, Y, *, learning_rate, iterations, record_every=1000, callback=None):
        p = self._p(params)
        for _ in range(iterations):
            g = self.gradients(p, X, Y)
            p = {k: v - learning_rate * g["d" + k] for k, v in p.items()}
        return SimpleNamespace(params=p, costs=[], final_cost=self.cost(p, X, Y))


class LostKeepdims(DeepMine):
    """db2 = np.sum(dZ2, axis=1) / m: layer 2's db is a vector (n_2,), not a column (n_2, 1)."""

    def bias_gradient(self, dZ, m, l):
        return np.sum(dZ, axis=1) / m if l == 2 else super().bias_gradient(dZ, m, l)


class WrongCache(DeepMine):
    """dW_l = (1/m) dZ_l A_lᵀ for the hidden layers: caches[l] (layer l + 1's A_prev, which is A_l) where B5 needs
    caches[l − 1]'s A_{l−1}. With widths that differ its shape is wrong, with equal widths its numbers."""

    def weight_gradient(self, dZ, caches, l, m):
        return dZ @ caches[l][0][0].T / m if l < len(caches) else super().weight_gradient(dZ, caches, l, m)


class TopGradientEverywhere(DeepMine):
    """Every hidden layer's dZ_l from dA_{L−1}, the top hidden layer's gradient (the loop reads grads[f"dA{L-1}"]
    where it means grads[f"dA{l}"]): right for layer L − 1, wrong below it; needs equal hidden widths to run."""

    def hidden_dZ(self, grads, caches, l):
        top = max(int(k[2:]) for k in grads if k.startswith("dA"))
        return grads[f"dA{top}"] * G[self.activation][1](caches[l - 1][1])


class SigmoidDerivative(DeepMine):
    """The hidden ReLU layers sent backwards through sigmoid_backward: dZ_l = dA_l ⊙ σ(Z_l)(1 − σ(Z_l))."""

    def hidden_dZ(self, grads, caches, l):
        s = 1 / (1 + np.exp(-caches[l - 1][1]))
        return grads[f"dA{l}"] * s * (1 - s)
