"""Image data for the deep network: files of the course's week-4 HDF5 layout (made here, small: the course's own
files are not ours to ship) and the digits stand-in, from the API and the command line."""
import sys

import numpy as np
import pytest

from compare.cli import main
from impls.io.datasets import load_dataset
from impls.io.images import DIGITS_TRAIN, digits

h5py = pytest.importorskip("h5py")


def course_file(path, m=6, split="train", shape=(4, 4, 3), seed=0, labels=None):
    """A file laid out as train_catvnoncat.h5 / test_catvnoncat.h5: uint8 images (m, height, width, 3),
    int64 labels (m,), list_classes."""
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(m, *shape), dtype=np.uint8)
    labels = rng.randint(0, 2, size=m) if labels is None else np.asarray(labels)
    with h5py.File(path, "w") as f:
        f.create_dataset(f"{split}_set_x", data=images)
        f.create_dataset(f"{split}_set_y", data=labels)
        f.create_dataset("list_classes", data=np.array([b"non-cat", b"cat"]))
    return images, labels


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_course_layout_file_is_flattened_and_scaled_as_the_course_does(tmp_path, split):
    images, labels = course_file(tmp_path / "cats.h5", split=split)
    X, Y = load_dataset(str(tmp_path / "cats.h5"))
    # the course: train_x_orig.reshape(train_x_orig.shape[0], -1).T / 255.
    np.testing.assert_array_equal(X, images.reshape(images.shape[0], -1).T / 255.)
    np.testing.assert_array_equal(Y, labels.reshape(1, -1))
    assert X.shape == (48, 6) and X.dtype == np.float64 and 0 <= X.min() and X.max() <= 1


def test_an_h5_file_is_known_by_its_signature_whatever_its_name(tmp_path):
    course_file(tmp_path / "cats.data")
    assert load_dataset(str(tmp_path / "cats.data"))[0].shape == (48, 6)


@pytest.mark.parametrize("make, match", [
    (lambda f: f.create_dataset("pixels", data=np.zeros((2, 3))),
     r"is not in the course's image layout.*it holds pixels"),
    (lambda f: (f.create_dataset("train_set_x", data=np.zeros((2, 4, 4, 3))),
                f.create_dataset("train_set_y", data=[0, 1])), r"train_set_x is float64 of shape \(2, 4, 4, 3\)"),
    (lambda f: (f.create_dataset("train_set_x", data=np.zeros((2, 4, 4, 3), np.uint8)),
                f.create_dataset("train_set_y", data=[0, 1, 1])),
     r"train_set_y has shape \(3,\), but train_set_x holds 2"),
    (lambda f: (f.create_dataset("train_set_x", data=np.zeros((2, 4, 4, 3), np.uint8)),
                f.create_dataset("train_set_y", data=[0, 2])), r"train_set_y must hold 0/1 labels, found \[0.0, 2.0\]"),
    (lambda f: (f.create_dataset("test_set_x", data=np.zeros((0, 4, 4, 3), np.uint8)),
                f.create_dataset("test_set_y", data=np.zeros(0))), r"test_set_x holds no images"),
])
def test_a_file_of_another_layout_is_refused_naming_it(tmp_path, make, match):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        make(f)
    with pytest.raises(ValueError, match=match):
        load_dataset(str(tmp_path / "other.h5"))


def test_not_an_h5_file_missing_or_a_folder(tmp_path):
    (tmp_path / "fake.h5").write_text("a,b\n1,0\n")
    with pytest.raises(ValueError, match=r"fake.h5: not a readable HDF5 file"):
        load_dataset(str(tmp_path / "fake.h5"))
    with pytest.raises(ValueError, match=r"missing.h5: no such file"):
        load_dataset(str(tmp_path / "missing.h5"))
    (tmp_path / "dir.h5").mkdir()
    with pytest.raises(ValueError, match=r"dir.h5: is a folder"):
        load_dataset(str(tmp_path / "dir.h5"))


def test_without_h5py_the_message_names_the_extra(tmp_path, monkeypatch):
    course_file(tmp_path / "cats.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ValueError, match=r'needs h5py, which is not installed: pip install -c constraints.txt -e '
                                         r'"\.\[h5py\]" in the clone'):
        load_dataset(str(tmp_path / "cats.h5"))


def test_a_model_of_other_images_is_refused(tmp_path):
    course_file(tmp_path / "cats.h5")
    with pytest.raises(ValueError, match=r"its images have 48 values each \(\(4, 4, 3\)\); the model takes 64"):
        load_dataset(str(tmp_path / "cats.h5"), n_features=64)


def test_digits_is_a_binary_image_task_split_as_the_course_splits():
    X, Y = load_dataset("digits")
    X_test, Y_test = load_dataset("digits-test")
    assert X.shape == (64, DIGITS_TRAIN) and X_test.shape == (64, 1797 - DIGITS_TRAIN)
    assert 0 <= X.min() and X.max() == 1 and set(np.unique(Y)) == {0.0, 1.0}
    from sklearn.datasets import load_digits
    images, labels = load_digits(return_X_y=True)
    np.testing.assert_array_equal(X_test, images[DIGITS_TRAIN:].T / 16)
    np.testing.assert_array_equal(Y[0], labels[:DIGITS_TRAIN] % 2)  # 1 for an odd digit
    assert 0.45 < Y.mean() < 0.55 and 0.45 < Y_test.mean() < 0.55
    np.testing.assert_array_equal(digits("train")[0], X)


@pytest.mark.slow
def test_train_save_and_predict_a_deep_model_on_course_layout_files(tmp_path, capsys):
    course_file(tmp_path / "train.h5", m=30, seed=1)
    course_file(tmp_path / "test.h5", m=10, split="test", seed=2)
    model = tmp_path / "deep.npz"
    assert main(["train", "--dataset", str(tmp_path / "train.h5"), "--hidden", "5,3", "--activation", "relu",
                 "--iterations", "50", "--print-every", "25", "--save", str(model)]) == 0
    out = capsys.readouterr().out
    assert "X (48, 30), layer_dims [48, 5, 3, 1], init sqrt, learning rate 0.0075, 50 iterations" in out
    assert main(["predict", "--model", str(model), "--dataset", str(tmp_path / "test.h5")]) == 0
    out = capsys.readouterr().out
    assert "test.h5: 10 examples" in out and "layer_dims [48, 5, 3, 1], relu, float64" in out
    assert "Accuracy: " in out


def test_save_h5_writes_the_course_layout(tmp_path):
    from impls.io.images import save_h5
    images = np.arange(2 * 3 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3, 3)
    save_h5(tmp_path / "mine.h5", images, [1, 0], split="test")
    with h5py.File(tmp_path / "mine.h5", "r") as f:
        assert sorted(f) == ["list_classes", "test_set_x", "test_set_y"]
        assert f["test_set_x"].dtype == np.uint8 and f["test_set_y"].dtype == np.int64
        assert f["list_classes"][()].tolist() == [b"non-cat", b"cat"]
    X, Y = load_dataset(str(tmp_path / "mine.h5"))
    np.testing.assert_array_equal(X[:, 1], images[1].ravel() / 255.)
    np.testing.assert_array_equal(Y, [[1, 0]])
