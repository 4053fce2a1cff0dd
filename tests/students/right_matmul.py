# Right: np.matmul, transposes on the other side, grads built in a loop.
import numpy as np


def forward_propagation(X, parameters):
    Z1 = np.matmul(parameters["W1"], X) + parameters["b1"]
    A1 = (np.exp(Z1) - np.exp(-Z1)) / (np.exp(Z1) + np.exp(-Z1))
    Z2 = np.matmul(parameters["W2"], A1) + parameters["b2"]
    A2 = np.exp(Z2) / (1 + np.exp(Z2))
    return A2, dict(Z1=Z1, A1=A1, Z2=Z2, A2=A2)


def backward_propagation(parameters, cache, X, Y):
    m = Y.shape[1]
    grads = {}
    dZ2 = cache["A2"] - Y
    grads["dW2"] = np.matmul(dZ2, cache["A1"].T) / m
    grads["db2"] = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = np.matmul(parameters["W2"].T, dZ2) * (1 - cache["A1"] ** 2)
    grads["dW1"] = np.matmul(X, dZ1.T).T / m
    grads["db1"] = dZ1.sum(axis=1).reshape(-1, 1) / m
    return grads
