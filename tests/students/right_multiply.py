# Right, written another way: @, np.multiply, np.power, own names, extra cache keys, prints.
import numpy as np


def forward_propagation(X, parameters):
    w1, bias1, w2, bias2 = (parameters[k] for k in ("W1", "b1", "W2", "b2"))
    z1 = w1 @ X + bias1
    a1 = np.tanh(z1)
    z2 = w2 @ a1 + bias2
    a2 = 1.0 / (1.0 + np.exp(-z2))
    print("forward done", a2.shape)
    return a2, {"Z1": z1, "A1": a1, "Z2": z2, "A2": a2, "W2": w2, "m": X.shape[1]}


def backward_propagation(parameters, cache, X, Y):
    m = cache["m"]
    dz2 = cache["A2"] - Y
    dw2 = np.multiply(1 / m, dz2 @ cache["A1"].T)
    db2 = np.sum(dz2, axis=1, keepdims=True) / m
    dz1 = np.multiply(cache["W2"].T @ dz2, 1 - np.power(cache["A1"], 2))
    dw1 = dz1 @ X.T / m
    db1 = np.mean(dz1, axis=1, keepdims=True)
    return {"dW1": dw1, "db1": db1, "dW2": dw2, "db2": db2}


def compute_cost(A2, Y):
    return float(-np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)))


def predict(parameters, X):
    return np.round(forward_propagation(X, parameters)[0])
