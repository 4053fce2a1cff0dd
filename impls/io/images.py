"""Image data in the course's week-4 layout, in course orientation: X is (height·width·channels, m) in [0, 1],
Y is (1, m) of 0/1 labels.

- HDF5 files of the course's layout (train_catvnoncat.h5, test_catvnoncat.h5): `train_set_x` uint8 of shape
  (m, height, width, channels), `train_set_y` (m,) of 0/1 labels and `list_classes`, or the same with `test_set_`;
  read through h5py, the optional extra of that name. The course's files are the course's: none ships here.
- `digits` and `digits-test`: a stand-in that needs no download, built from scikit-learn's 1797 handwritten
  digits (8×8 pixels of 0…16): label 1 for an odd digit, 0 for an even one; the first 1437 images train,
  the last 360 (other writers) test, about the course's 80/20 split.
"""
from pathlib import Path

import numpy as np

from impls.memory import check_memory

IMAGE_DATASETS = ("digits", "digits-test")
DIGITS_TRAIN = 1437
SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the first bytes of every HDF5 file
LAYOUT = ("the course's image layout: train_set_x (m, height, width, channels) uint8, train_set_y (m,) of 0/1 "
          "labels and list_classes, or test_set_x, test_set_y and list_classes")


def digits(split="train"):
    """The stand-in: scikit-learn's digits, odd (1) against even (0), pixels / 16 in [0, 1]."""
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    part = slice(None, DIGITS_TRAIN) if split == "train" else slice(DIGITS_TRAIN, None)
    return images[part].T / 16.0, (labels[part] % 2).reshape(1, -1).astype(np.float64)


def is_h5(path):
    """Whether `path` names an HDF5 file: by its suffix, or by the signature its first bytes hold."""
    if str(path).lower().endswith((".h5", ".hdf5")):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(len(SIGNATURE)) == SIGNATURE
    except (OSError, ValueError):
        return False


def _h5py():
    try:
        import h5py
    except ImportError:
        from impls import install_hint
        raise ValueError(f"reading .h5 files needs h5py, which is not installed: {install_hint('h5py')}") from None
    return h5py


def load_h5(path, *, n_features=None):
    """The examples of an HDF5 file of the course's layout: its train set, or its test set when it holds only
    that (as test_catvnoncat.h5 does), flattened to (height·width·channels, m) and divided by 255.

    Raises:
        ValueError: h5py is missing (naming the extra), the file is missing or no HDF5 file, its layout is
            another, a label is not 0/1, or it has another number of features than `n_features`.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an .h5 file")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            return _read(f, path, n_features)
    except OSError as e:
        raise ValueError(f"{path}: not a readable HDF5 file ({' '.join(str(e).split())})") from None


def _read(f, path, n_features):
    split = "train" if "train_set_x" in f else "test"
    x, y = f.get(f"{split}_set_x"), f.get(f"{split}_set_y")
    if not (_dataset(x) and _dataset(y)):
        found = ", ".join(sorted(f.keys())[:8]) or "nothing"
        raise ValueError(f"{path}: is not in {LAYOUT}; it holds {found}")
    if x.dtype != np.uint8 or x.ndim not in (3, 4):
        raise ValueError(f"{path}: {split}_set_x is {x.dtype} of shape {x.shape}; {LAYOUT}")
    m, features = x.shape[0], int(np.prod(x.shape[1:]))
    if y.shape not in ((m,), (1, m)):
        raise ValueError(f"{path}: {split}_set_y has shape {y.shape}, but {split}_set_x holds {m} images; "
                         f"{LAYOUT}")
    if m == 0:
        raise ValueError(f"{path}: {split}_set_x holds no images (m = 0)")
    if n_features is not None and features != n_features:
        raise ValueError(f"{path}: its images have {features} values each ({x.shape[1:]}); the model takes "
                         f"{n_features}")
    check_memory(8 * m * features, f"{path}: {m} images of {features} values as float64")
    labels = np.asarray(y[()], dtype=np.float64).reshape(1, m)
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError(f"{path}: {split}_set_y must hold 0/1 labels, found {np.unique(labels)[:5].tolist()}")
    X = x[()].reshape(m, features).T / 255.0  # the course's train_x_orig.reshape(m, -1).T / 255
    return X, labels


def _dataset(node):
    return node is not None and hasattr(node, "dtype") and hasattr(node, "shape")


def save_h5(path, images, labels, classes=(b"non-cat", b"cat"), *, split="train"):
    """Write images and labels as a file of the course's layout (tests, and data of one's own).

    Args:
        path: the .h5 file to write (replaced if it exists).
        images: uint8 array (m, height, width, channels).
        labels: (m,) of 0/1.
        classes: the two class names, stored as list_classes.
        split: "train" or "test": the names' prefix.
    """
    h5py = _h5py()
    with h5py.File(path, "w") as f:
        f.create_dataset(f"{split}_set_x", data=np.asarray(images, dtype=np.uint8))
        f.create_dataset(f"{split}_set_y", data=np.asarray(labels, dtype=np.int64))
        f.create_dataset("list_classes", data=np.asarray(classes, dtype="S"))
