"""dnn_utils_v2.py, the older name of week 4's activation helpers: the same four functions as dnn_utils."""
from dnn_utils import __all__, np, relu, relu_backward, sigmoid, sigmoid_backward  # noqa: F401
