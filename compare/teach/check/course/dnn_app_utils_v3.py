"""Week 4's dnn_app_utils_v3 (the "Deep Neural Network - Application" assignment, v8 and 2021 W4A2): its
activations, the same as dnn_utils, and load_data, the cat pictures (see catvnoncat: the .h5 files are the
course's, not included here).

Source followed: github.com/amanchadha/coursera-deep-learning-specialization, C1 - Neural Networks and Deep
Learning/Week 4/Deep Neural Network Application_ Image Classification/dnn_app_utils_v3.py. The course's
module also carries its own solution of the L-layer functions (initialize_parameters_deep, L_model_forward,
L_model_backward, ...); the week-4 grading brings them, with the reference they are graded against.
"""
from catvnoncat import load as load_data  # noqa: F401
from dnn_utils import np, relu, relu_backward, sigmoid, sigmoid_backward  # noqa: F401

__all__ = ["np", "sigmoid", "relu", "relu_backward", "sigmoid_backward", "load_data"]
