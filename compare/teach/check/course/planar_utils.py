"""Week 3's planar_utils, as the course publishes it (planar_utils.py of "Planar data classification with
one hidden layer", identical in v5, v6c and the 2021 W3A1): the same functions, the same random draws.

Source followed: github.com/amanchadha/coursera-deep-learning-specialization, C1 - Neural Networks and Deep
Learning/Week 3/Planar data classification with one hidden layer/planar_utils.py (the same file as W3A1's).
Like the course's, load_planar_dataset seeds NumPy's global generator with 1, and load_extra_datasets draws
from it. matplotlib and scikit-learn are imported when a function needs them, not on import: a graded file
that only takes `sigmoid` from here loads in a fraction of the time.
"""
import numpy as np

__all__ = ["plt", "np", "sklearn", "plot_decision_boundary", "sigmoid", "load_planar_dataset",
           "load_extra_datasets"]  # the course module's names, for `from planar_utils import *`


def __getattr__(name):  # plt and sklearn, as the course module has them, imported on first use
    if name == "plt":
        import matplotlib.pyplot
        return matplotlib.pyplot
    if name == "sklearn":
        import sklearn.datasets
        import sklearn.linear_model  # noqa: F401 - the course module imports both
        return sklearn
    raise AttributeError(f"module 'planar_utils' has no attribute {name!r}")


def plot_decision_boundary(model, X, y):
    """Colour the plane by model's prediction on a 0.01 grid around X, then scatter X coloured by y."""
    import matplotlib.pyplot as plt
    x_min, x_max = X[0, :].min() - 1, X[0, :].max() + 1
    y_min, y_max = X[1, :].min() - 1, X[1, :].max() + 1
    h = 0.01
    xx, yy = np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))
    Z = model(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    plt.contourf(xx, yy, Z, cmap=plt.cm.Spectral)
    plt.ylabel('x2')
    plt.xlabel('x1')
    plt.scatter(X[0, :], X[1, :], c=y, cmap=plt.cm.Spectral)


def sigmoid(x):
    """1 / (1 + e^-x), element-wise, for a scalar or an array of any shape."""
    return 1 / (1 + np.exp(-x))


def load_planar_dataset():
    """The flower: X (2, 400), Y (1, 400) of uint8 labels; seeds the global generator with 1, as the course does."""
    np.random.seed(1)
    m, a = 400, 4                    # examples, the flower's largest radius
    N = m // 2                       # points per class
    X = np.zeros((m, 2))             # one example per row until the transpose below
    Y = np.zeros((m, 1), dtype='uint8')
    for j in range(2):
        rows = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2   # angle
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2                          # radius
        X[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[rows] = j
    return X.T, Y.T


def load_extra_datasets():
    """noisy_circles, noisy_moons, blobs, gaussian_quantiles, no_structure: 200 points each, as (X, y) pairs."""
    import sklearn.datasets
    N = 200
    noisy_circles = sklearn.datasets.make_circles(n_samples=N, factor=.5, noise=.3)
    noisy_moons = sklearn.datasets.make_moons(n_samples=N, noise=.2)
    blobs = sklearn.datasets.make_blobs(n_samples=N, random_state=5, n_features=2, centers=6)
    gaussian_quantiles = sklearn.datasets.make_gaussian_quantiles(mean=None, cov=0.5, n_samples=N, n_features=2,
                                                                  n_classes=2, shuffle=True, random_state=None)
    no_structure = np.random.rand(N, 2), np.random.rand(N, 2)
    return noisy_circles, noisy_moons, blobs, gaussian_quantiles, no_structure
