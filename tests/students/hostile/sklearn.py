# A submission named sklearn.py in the class folder: graded as a file of its own, never a classmate's sklearn.
raise ImportError("this is a student's sklearn.py, not scikit-learn")


def forward_propagation(X, parameters):
    return None, {}


def backward_propagation(parameters, cache, X, Y):
    return {}
