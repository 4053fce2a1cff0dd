"""The course's cat pictures (weeks 2 and 4): datasets/train_catvnoncat.h5 and datasets/test_catvnoncat.h5,
read as lr_utils.load_dataset and dnn_app_utils_v3.load_data read them, relative to the working folder.

The files are the course's and are not part of backprop-compare: put the course's datasets/ folder beside
the notebook. Reading them needs h5py (pip install h5py).
"""
import numpy as np

FILES = ("datasets/train_catvnoncat.h5", "datasets/test_catvnoncat.h5")


def load():
    """(train_x, train_y, test_x, test_y, classes), the labels reshaped to (1, m), as the course returns them."""
    import os
    missing = [f for f in FILES if not os.path.isfile(f)]
    if missing:
        raise FileNotFoundError(f"{missing[0]}: the course's cat pictures are not part of backprop-compare; "
                                "put the course's datasets/ folder (train_catvnoncat.h5, test_catvnoncat.h5) "
                                f"in the working folder, {os.getcwd()}")
    try:
        import h5py
    except ImportError:
        raise ModuleNotFoundError("reading the course's .h5 files needs h5py: pip install h5py", name="h5py") from None
    with h5py.File(FILES[0], "r") as train, h5py.File(FILES[1], "r") as test:
        train_x, train_y = np.array(train["train_set_x"][:]), np.array(train["train_set_y"][:])
        test_x, test_y = np.array(test["test_set_x"][:]), np.array(test["test_set_y"][:])
        classes = np.array(test["list_classes"][:])
    return train_x, train_y.reshape((1, train_y.shape[0])), test_x, test_y.reshape((1, test_y.shape[0])), classes
