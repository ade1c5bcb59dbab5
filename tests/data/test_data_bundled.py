import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError


@pytest.mark.parametrize(
    ("name", "task", "shape", "n_classes"),
    [
        ("digits", "multiclass", (64,), 10),
        ("digits-images", "multiclass", (1, 8, 8), 10),
        ("breast_cancer", "binary", (30,), 2),
        ("wine", "multiclass", (13,), 3),
        ("iris", "multiclass", (4,), 3),
        ("diabetes", "regression", (10,), 0),
    ],
)
def test_bundled_sets_have_the_documented_shape(name, task, shape, n_classes):
    ds = leanlens.datasets.load(name, random_state=0)
    assert ds.task == task
    assert ds.input_shape == shape
    assert ds.n_classes == n_classes
    assert ds.X_train.shape[1:] == shape and ds.X_train.dtype == np.float32
    assert len(ds.feature_names) == int(np.prod(shape))
    total = len(ds.X_train) + len(ds.X_val) + len(ds.X_test)
    assert total == {"digits": 1797, "digits-images": 1797, "breast_cancer": 569, "wine": 178, "iris": 150, "diabetes": 442}[name]
    # the standardizer is fitted on the training split
    np.testing.assert_allclose(ds.preprocessing.mean, ds.X_train.reshape(len(ds.X_train), *shape).mean(axis=0), rtol=1e-4, atol=1e-4)


def test_split_is_seeded_and_stratified():
    a = leanlens.datasets.load("iris", random_state=3)
    b = leanlens.datasets.load("iris", random_state=3)
    c = leanlens.datasets.load("iris", random_state=4)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_test, c.X_test)
    # stratified: every class has the same share in train and test (±1 row)
    for cls in range(3):
        assert abs((a.y_test == cls).sum() - len(a.y_test) / 3) <= 1


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(InvalidInputError, match="Valid names: digits, digits-images, breast_cancer") as exc:
        leanlens.datasets.load("digit")
    assert "Did you mean 'digits'" in str(exc.value)


def test_available_lists_every_set():
    names = leanlens.datasets.available()
    assert {"digits", "digits-images", "breast_cancer", "wine", "iris", "diabetes", "synthetic"} <= set(names)
