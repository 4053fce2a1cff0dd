"""Data sets in course orientation: X is (n_x, m), Y is (1, m) with 0/1 labels."""
import csv
import math
from pathlib import Path

import numpy as np

DATASETS = ("planar", "moons", "circles", "blobs", "breast_cancer")


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


def load_csv(path):
    """A CSV file with a header row, numeric feature columns and a 0/1 label in the last column.

    Raises:
        ValueError: naming the file, and the line and column of a bad cell.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            for row in reader:
                if row:
                    rows.append((reader.line_num, row))
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path}: not a readable CSV text file ({e})") from None
    if header is None:
        raise ValueError(f"{path}: the file is empty")
    if len(header) < 2:
        raise ValueError(f"{path}: needs a header row with feature columns and a label column last")
    if not rows:
        raise ValueError(f"{path}: has a header but no data rows")
    data = np.empty((len(rows), len(header)))
    for i, (line, row) in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} cells, but the header has {len(header)}")
        for j, cell in enumerate(row):
            try:
                data[i, j] = value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise ValueError(f"{path}, line {line}, column {j + 1} ({header[j]!r}): "
                                 f"{cell!r} is not a finite number")
    labels = data[:, -1]
    if not np.all((labels == 0) | (labels == 1)):
        found = np.unique(labels)[:5].tolist()
        raise ValueError(f"{path}: the label column {header[-1]!r} (the last) must hold 0/1 labels, "
                         f"found {found}")
    return data[:, :-1].T.copy(), labels.reshape(1, -1)


def load_dataset(name, *, seed=0):
    """A built-in data set by name, or a CSV file by path.

    Args:
        name: one of DATASETS, or the path of a CSV file (see load_csv).
        seed: random state of the scikit-learn generators; "planar" is always the course's.

    Returns:
        (X, Y): float64 arrays of shapes (n_x, m) and (1, m).
    """
    if name == "planar":
        return planar()
    if name in DATASETS:
        return _sklearn(name, seed)
    if str(name).lower().endswith(".csv") or Path(name).exists():
        return load_csv(name)
    raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}, or a .csv file path")
