"""Week 2's lr_utils, as the course publishes it (lr_utils.py of "Logistic Regression with a Neural Network
mindset", v6a and 2021 W2A2): load_dataset reads the cat pictures (see catvnoncat: the .h5 files are the
course's, not included here).

Source followed: github.com/amanchadha/coursera-deep-learning-specialization, C1 - Neural Networks and Deep
Learning/Week 2/Logistic Regression as a Neural Network/lr_utils.py.
"""
import numpy as np  # noqa: F401 - the course module has np

from catvnoncat import load as load_dataset  # noqa: F401

__all__ = ["np", "load_dataset"]
