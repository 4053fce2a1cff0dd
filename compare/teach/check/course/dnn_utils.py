"""Week 4's activation helpers, as the course publishes them: dnn_utils.py of "Building your Deep Neural
Network: Step by Step" (2021 W4A1), the same functions as the older dnn_utils_v2.py and as the first four of
dnn_app_utils_v3.py (W4A2).

Sources followed: github.com/amanchadha/coursera-deep-learning-specialization, C1 - Neural Networks and Deep
Learning/Week 4/Building your Deep Neural Network - Step by Step/dnn_utils_v2.py, and W4A1/dnn_utils.py of
the 2021 course. Each forward activation returns (A, cache) with cache = Z; each backward one takes
(dA, cache) and returns dZ of Z's shape.
"""
import numpy as np

__all__ = ["np", "sigmoid", "relu", "relu_backward", "sigmoid_backward"]


def sigmoid(Z):
    """(A, cache): A = 1 / (1 + e^-Z), and Z itself for the backward pass."""
    A = 1 / (1 + np.exp(-Z))
    return A, Z


def relu(Z):
    """(A, cache): A = max(0, Z), and Z itself for the backward pass."""
    A = np.maximum(0, Z)
    assert A.shape == Z.shape
    return A, Z


def relu_backward(dA, cache):
    """dZ = dA where Z > 0 and 0 where Z <= 0 (a copy: dA is left as it is)."""
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    assert dZ.shape == Z.shape
    return dZ


def sigmoid_backward(dA, cache):
    """dZ = dA · s(1 − s) with s = σ(Z)."""
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    dZ = dA * s * (1 - s)
    assert dZ.shape == Z.shape
    return dZ
