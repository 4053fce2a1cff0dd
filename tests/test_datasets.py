"""Data sets: the course's flower exactly, scikit-learn's, and CSV files with clear errors."""
import numpy as np
import pytest

from impls.io.datasets import DATASETS, load_csv, load_dataset


def course_load_planar_dataset():
    """planar_utils.load_planar_dataset from the course, verbatim but for style."""
    np.random.seed(1)
    m = 400
    N = int(m / 2)
    D = 2
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def test_planar_is_the_course_flower_exactly():
    state = np.random.get_state()
    try:
        X_course, Y_course = course_load_planar_dataset()
    finally:
        np.random.set_state(state)
    X, Y = load_dataset("planar")
    assert X.shape == (2, 400) and Y.shape == (1, 400) and Y.sum() == 200
    np.testing.assert_array_equal(X, X_course)
    np.testing.assert_array_equal(Y, Y_course)


def test_loading_planar_leaves_the_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    load_dataset("planar")
    assert np.random.rand() == expected


@pytest.mark.parametrize("name", DATASETS)
def test_builtin_datasets_are_in_course_orientation(name):
    X, Y = load_dataset(name, seed=3)
    assert X.ndim == 2 and Y.shape == (1, X.shape[1]) and X.dtype == np.float64
    assert set(np.unique(Y)) == {0.0, 1.0}
    if name == "breast_cancer":
        assert X.shape == (30, 569)
        np.testing.assert_allclose(X.mean(axis=1), 0, atol=1e-12)
        np.testing.assert_allclose(X.std(axis=1), 1, rtol=1e-12)


def test_unknown_dataset_lists_the_names():
    with pytest.raises(ValueError, match="unknown dataset 'iris'; choose one of: planar, moons"):
        load_dataset("iris")


def test_csv_round_trip(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("x1,x2,label\n0.5,-1,1\n2,3e-2,0\n\n")
    X, Y = load_dataset(str(path))
    np.testing.assert_array_equal(X, [[0.5, 2.0], [-1.0, 0.03]])
    np.testing.assert_array_equal(Y, [[1.0, 0.0]])


@pytest.mark.parametrize("text, match", [
    ("", "the file is empty"),
    ("x,label\n", "has a header but no data rows"),
    ("label\n1\n", "needs a header row with feature columns and a label column last"),
    ("x1,x2,label\n1,2,1\n3,abc,0\n", r"line 3, column 2 \('x2'\): 'abc' is not a finite number"),
    ("x1,x2,label\n1,,1\n", r"line 2, column 2 \('x2'\): '' is not a finite number"),
    ("x1,x2,label\n1,nan,1\n", r"line 2, column 2 \('x2'\): 'nan' is not a finite number"),
    ("x1,x2,label\n1,2\n", "line 2: 2 cells, but the header has 3"),
    ("x1,label\n1,2\n2,0\n", r"the label column 'label' \(the last\) must hold 0/1 labels, found \[0.0, 2.0\]"),
])
def test_bad_csv_gets_a_message_naming_the_problem(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_csv(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_dataset(str(tmp_path / "missing.csv"))
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ValueError, match="not a readable CSV text file"):
        load_csv(path)


@pytest.mark.parametrize("name", ["xor", "spiral"])
def test_xor_and_spiral_are_deterministic_from_the_seed(name):
    X, Y = load_dataset(name, seed=5)
    X2, Y2 = load_dataset(name, seed=5)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(Y, Y2)
    assert X.shape == (2, 400) and Y.shape == (1, 400) and 150 < Y.sum() < 250  # spiral's: 200 exactly
    assert not np.array_equal(load_dataset(name, seed=6)[0], X)


def test_xor_labels_are_the_quadrants_without_noise():
    from impls.io.datasets import xor
    X, Y = xor(seed=1, noise=0.0)
    np.testing.assert_array_equal(Y[0], (np.sign(X[0]) == np.sign(X[1])).astype(float))
    assert np.min(np.abs(X)) >= 0.3  # the margin around the axes
    noisy, _ = xor(seed=1, noise=0.5)
    assert 0.3 < np.std(noisy - X) < 0.7  # the noise is added to the same points


def test_spiral_arms_are_half_a_turn_apart_without_noise():
    from impls.io.datasets import spiral
    X, Y = spiral(seed=0, noise=0.0)
    arm0, arm1 = X[:, Y[0] == 0], X[:, Y[0] == 1]
    np.testing.assert_allclose(arm1, -arm0, atol=1e-12)  # turned by π: the point opposite the centre
    np.testing.assert_allclose(np.hypot(*arm0), 4 * np.arange(200) / 200, atol=1e-12)


def test_csv_text_follows_the_file_rules():
    from impls.io.datasets import parse_csv
    X, Y = parse_csv("a,b,y\n1,2,0\n3,4,1\n".splitlines(keepends=True), "upload.csv")
    np.testing.assert_array_equal(X, [[1, 3], [2, 4]])
    np.testing.assert_array_equal(Y, [[0, 1]])
    with pytest.raises(ValueError, match=r"^mine.csv, line 3, column 2 \('b'\): 'x' is not a finite number$"):
        parse_csv(["a,b,y\n", "1,2,0\n", "3,x,1\n"], "mine.csv")
