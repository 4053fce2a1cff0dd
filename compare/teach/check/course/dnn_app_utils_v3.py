"""Week 4's dnn_app_utils_v3 (the "Deep Neural Network - Application" assignment, v8 and 2021 W4A2): the
activations of dnn_utils, load_data (the cat pictures, see catvnoncat: the .h5 files are the course's, not
included here), and the course's own L-layer functions, which the student's two_layer_model and L_layer_model
call after `from dnn_app_utils_v3 import *`.

Source followed: github.com/amanchadha/coursera-deep-learning-specialization, C1 - Neural Networks and Deep
Learning/Week 4/Deep Neural Network Application_ Image Classification/dnn_app_utils_v3.py. As there:
initialize_parameters seeds NumPy's global generator with 1 and scales by 0.01; initialize_parameters_deep
seeds it with 1 and divides by √n_{l−1} (not W4A1's seed 3 and 0.01); L_model_backward stores ∂J/∂A_l under
dA{l}; update_parameters writes into the dict it is given and returns it; predict prints the accuracy.
"""
from catvnoncat import load as load_data  # noqa: F401
from dnn_utils import np, relu, relu_backward, sigmoid, sigmoid_backward

__all__ = ["np", "sigmoid", "relu", "relu_backward", "sigmoid_backward", "load_data", "initialize_parameters",
           "initialize_parameters_deep", "linear_forward", "linear_activation_forward", "L_model_forward",
           "compute_cost", "linear_backward", "linear_activation_backward", "L_model_backward", "update_parameters",
           "predict", "print_mislabeled_images"]


def initialize_parameters(n_x, n_h, n_y):
    np.random.seed(1)
    W1 = np.random.randn(n_h, n_x) * 0.01
    W2 = np.random.randn(n_y, n_h) * 0.01
    return {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((n_y, 1))}


def initialize_parameters_deep(layer_dims):
    np.random.seed(1)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        parameters[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return parameters


def linear_forward(A, W, b):
    """(Z, cache): Z = W A + b, cache = (A, W, b)."""
    return W.dot(A) + b, (A, W, b)


def linear_activation_forward(A_prev, W, b, activation):
    """(A, cache): A = g(Z) with g "sigmoid" or "relu", cache = (linear_cache, Z)."""
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = {"sigmoid": sigmoid, "relu": relu}[activation](Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    """(AL, caches): [LINEAR -> RELU] × (L − 1) -> LINEAR -> SIGMOID, one cache per layer."""
    caches, A, L = [], X, len(parameters) // 2
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters[f"W{L}"], parameters[f"b{L}"], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    """The cross-entropy as a 0-d array (np.squeeze of the course's (1, 1) product)."""
    m = Y.shape[1]
    return np.squeeze((1. / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T)))


def linear_backward(dZ, cache):
    """(dA_prev, dW, db) from one layer's dZ."""
    A_prev, W, b = cache
    m = A_prev.shape[1]
    return np.dot(W.T, dZ), 1. / m * np.dot(dZ, A_prev.T), 1. / m * np.sum(dZ, axis=1, keepdims=True)


def linear_activation_backward(dA, cache, activation):
    linear_cache, activation_cache = cache
    dZ = {"relu": relu_backward, "sigmoid": sigmoid_backward}[activation](dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    """grads: dA{l} (∂J/∂A_l), dW{l}, db{l}, from dAL = −(Y/AL − (1 − Y)/(1 − AL))."""
    grads, L = {}, len(caches)
    Y = Y.reshape(AL.shape)
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    grads[f"dA{L - 1}"], grads[f"dW{L}"], grads[f"db{L}"] = linear_activation_backward(dAL, caches[L - 1], "sigmoid")
    for l in reversed(range(L - 1)):
        grads[f"dA{l}"], grads[f"dW{l + 1}"], grads[f"db{l + 1}"] = linear_activation_backward(
            grads[f"dA{l + 1}"], caches[l], "relu")
    return grads


def update_parameters(parameters, grads, learning_rate):
    """One step of gradient descent, written into `parameters`, which it returns."""
    for l in range(1, len(parameters) // 2 + 1):
        parameters[f"W{l}"] = parameters[f"W{l}"] - learning_rate * grads[f"dW{l}"]
        parameters[f"b{l}"] = parameters[f"b{l}"] - learning_rate * grads[f"db{l}"]
    return parameters


def predict(X, y, parameters):
    """The 0/1 predictions (1, m) where AL > 0.5; prints the accuracy against y, as the course does."""
    probas, _ = L_model_forward(X, parameters)
    p = (probas > 0.5).astype(float)
    print("Accuracy: " + str(np.sum((p == y) / X.shape[1])))
    return p


def print_mislabeled_images(classes, X, y, p):
    """The pictures predicted wrongly, with their prediction and class."""
    import matplotlib.pyplot as plt
    wrong = np.asarray(np.where(p + y == 1))
    plt.rcParams['figure.figsize'] = (40.0, 40.0)
    for i, index in enumerate(wrong[1]):
        plt.subplot(2, len(wrong[1]), i + 1)
        plt.imshow(X[:, index].reshape(64, 64, 3), interpolation='nearest')
        plt.axis('off')
        plt.title(f"Prediction: {classes[int(p[0, index])].decode('utf-8')} \n Class: "
                  f"{classes[y[0, index]].decode('utf-8')}")
