"""Data sets in course orientation: X is (n_x, m), Y is (1, m) with 0/1 labels."""
import csv
import math
from pathlib import Path

import numpy as np

from impls.io.images import IMAGE_DATASETS, digits, is_h5, load_h5

DATASETS = ("planar", "moons", "circles", "blobs", "xor", "spiral", "breast_cancer")


def planar():
    """The lecture's "flower": 400 points, 200 per class, petal size 4, exactly as the course makes it."""
    rng = np.random.RandomState(1)  # the course's np.random.seed(1), without touching the global state
    m, a = 400, 4
    N = m // 2
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1))
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.randn(N) * 0.2  # angle
        r = a * np.sin(4 * t) + rng.randn(N) * 0.2                          # radius
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def xor(seed=0, noise=0.2, m=400):
    """TensorFlow Playground's XOR: points uniform in the square [-4, 4]², label 1 where x1·x2 > 0, then
    Gaussian noise of standard deviation `noise` added to the points (so a few cross the axes)."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-4, 4, size=(2, m))
    X += np.where(X > 0, 0.3, -0.3)  # a margin around the axes, as TF Playground's padding
    Y = (X[0] * X[1] > 0).astype(np.float64).reshape(1, -1)
    return X + noise * rng.randn(2, m), Y


def spiral(seed=0, noise=0.2, m=400):
    """Two interleaved spirals of m/2 points each, radius 0 to 4 over 1.75 turns, the second turned half a turn;
    Gaussian noise of standard deviation `noise` added to the points."""
    rng = np.random.RandomState(seed)
    n = m // 2
    r = 4 * np.arange(n) / n
    X, Y = [], []
    for label, turn in ((0, 0.0), (1, np.pi)):
        t = 1.75 * 2 * np.pi * np.arange(n) / n + turn
        X.append(np.stack([r * np.sin(t), r * np.cos(t)]))
        Y.append(np.full(n, float(label)))
    X = np.concatenate(X, axis=1)
    return X + noise * rng.randn(*X.shape), np.concatenate(Y).reshape(1, -1)


def _sklearn(name, seed):
    from sklearn import datasets

    if name == "moons":
        X, y = datasets.make_moons(n_samples=400, noise=0.2, random_state=seed)
    elif name == "circles":
        X, y = datasets.make_circles(n_samples=400, factor=0.5, noise=0.1, random_state=seed)
    elif name == "blobs":  # the course's extra data set: six blobs, labelled by parity
        X, y = datasets.make_blobs(n_samples=400, centers=6, n_features=2, random_state=seed)
        y = y % 2
    else:
        X, y = datasets.load_breast_cancer(return_X_y=True)
        X = (X - X.mean(axis=0)) / X.std(axis=0)  # standardized: raw features span 1e-3 to 1e3
    return X.T.astype(np.float64), y.reshape(1, -1).astype(np.float64)


def load_csv(path, *, n_features=None):
    """A CSV file with a header row, numeric feature columns and a 0/1 label in the last column.

    Args:
        path: the file.
        n_features: for data to predict on: when given, the file may also hold exactly this many
            feature columns and no label column (then Y is None).

    Returns:
        (X, Y): float64 arrays of shapes (n_x, m) and (1, m); Y is None for an unlabelled file.

    Raises:
        ValueError: naming the file, and the line and column of a bad cell.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a CSV file")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: drop the byte-order mark Excel writes
            return parse_csv(f, str(path), n_features=n_features)
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a readable CSV text file ({e})") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror or e})") from None


def parse_csv(lines, name, *, n_features=None):
    """CSV text, as load_csv reads it from a file: `lines` an iterable of text lines (a file, or
    text.splitlines(keepends=True)), `name` what the messages call it. The playground reads uploads
    with it, so that an uploaded file follows the command line's rules and messages."""
    rows = []
    try:
        reader = csv.reader(lines)
        header = next(reader, None)
        for row in reader:
            if row:
                rows.append((reader.line_num, row))
    except csv.Error as e:
        raise ValueError(f"{name}: not a readable CSV text file ({e})") from None
    if header is None:
        raise ValueError(f"{name}: the file is empty")
    labelled = n_features is None or len(header) != n_features
    if n_features is not None and len(header) not in (n_features, n_features + 1):
        raise ValueError(f"{name}: has {len(header)} columns; expected {n_features} features, "
                         "optionally followed by a 0/1 label column")
    if labelled and len(header) < 2:
        raise ValueError(f"{name}: needs a header row with feature columns and a label column last")
    if all(_is_number(cell) for cell in header):  # else the first example would be lost as a header
        raise ValueError(f"{name}, line 1: holds numbers, not column names; the file needs a header row")
    if not rows:
        raise ValueError(f"{name}: has a header but no data rows")
    data = np.empty((len(rows), len(header)))
    for i, (line, row) in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"{name}, line {line}: {len(row)} cells, but the header has {len(header)}")
        for j, cell in enumerate(row):
            try:
                data[i, j] = value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise ValueError(f"{name}, line {line}, column {j + 1} ({header[j]!r}): "
                                 f"{cell!r} is not a finite number")
    if not labelled:
        return data.T.copy(), None
    labels = data[:, -1]
    if not np.all((labels == 0) | (labels == 1)):
        found = np.unique(labels)[:5].tolist()
        raise ValueError(f"{name}: the label column {header[-1]!r} (the last) must hold 0/1 labels, "
                         f"found {found}")
    return data[:, :-1].T.copy(), labels.reshape(1, -1)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_dataset(name, *, seed=0, n_features=None):
    """A built-in data set by name, or a CSV or HDF5 file by path.

    Args:
        name: one of DATASETS or IMAGE_DATASETS (the deep network's stand-in images, images.py), or the path
            of a CSV file (see load_csv) or of an .h5 file of the course's image layout (images.load_h5).
        seed: random state of the generators (scikit-learn's, xor's, spiral's); "planar" is always the
            course's.
        n_features: the number of features a model takes; a data set with another number is an
            error, and a CSV file with exactly this many columns is read as unlabelled.

    Returns:
        (X, Y): float64 arrays of shapes (n_x, m) and (1, m); Y is None only for an unlabelled CSV file.
    """
    if not isinstance(name, (str, Path)):
        raise ValueError(f"dataset must be a name or a path, got {type(name).__name__}")
    if name in DATASETS or name in IMAGE_DATASETS:
        generated = {"planar": planar, "xor": lambda: xor(seed), "spiral": lambda: spiral(seed),
                     "digits": digits, "digits-test": lambda: digits("test")}
        X, Y = generated[name]() if name in generated else _sklearn(name, seed)
        if n_features is not None and X.shape[0] != n_features:
            raise ValueError(f"dataset {name} has {X.shape[0]} features; the model takes {n_features}")
        return X, Y
    try:
        is_file = Path(name).exists()
    except (OSError, ValueError):  # a name too long or with a NUL byte: not a path at all
        is_file = False
    if is_h5(name):
        return load_h5(name, n_features=n_features)
    if str(name).lower().endswith(".csv") or is_file:
        return load_csv(name, n_features=n_features)
    shown = repr(name) if len(str(name)) <= 80 else repr(str(name)[:60]) + "…"
    raise ValueError(f"unknown dataset {shown}; choose one of: {', '.join(DATASETS + IMAGE_DATASETS)}, or a .csv "
                     "or .h5 file path")
