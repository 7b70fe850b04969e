"""The built-in shapes benchmark: generated deterministically from the dataset seed, balanced, grey 32x32,
classes not told apart by brightness, and served through DatasetConfig like digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workers.data import BUILT_IN, DatasetConfig, DatasetError, shapes
from workers.data.dataset import clear_cache
from workers.search import SearchConfig


def test_generation_is_a_pure_function_of_the_seed() -> None:
    a_images, a_labels = shapes.generate(3, per_class=6)
    b_images, b_labels = shapes.generate(3, per_class=6)
    np.testing.assert_array_equal(a_images, b_images)
    np.testing.assert_array_equal(a_labels, b_labels)
    assert not np.array_equal(a_images, shapes.generate(4, per_class=6)[0])


def test_images_are_grey_32px_in_unit_range_and_balanced() -> None:
    images, labels = shapes.generate(0, per_class=5)
    assert images.shape == (50, 1, 32, 32) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert np.bincount(labels).tolist() == [5] * len(shapes.CLASS_NAMES)
    assert len(set(shapes.CLASS_NAMES)) == 10


def test_brightness_does_not_tell_the_classes_apart() -> None:
    images, labels = shapes.generate(1, per_class=60)
    means = images.mean(axis=(1, 2, 3))
    class_means = np.array([means[labels == c].mean() for c in range(10)])
    assert class_means.max() - class_means.min() < 0.1  # random levels: the shape, not the mean, decides
    assert means.std() > 0.1


def test_every_class_draws_a_visible_shape() -> None:
    """The foreground differs from the background over a clear area in every class (no empty class)."""
    images, labels = shapes.generate(2, per_class=8)
    for c in range(10):
        spread = np.percentile(images[labels == c], 99, axis=(1, 2, 3)) - np.percentile(
            images[labels == c], 1, axis=(1, 2, 3))
        assert np.median(spread) > 0.3, shapes.CLASS_NAMES[c]


def test_dataset_config_info_and_split() -> None:
    cfg = DatasetConfig(source="shapes", val_fraction=0.25)
    assert cfg.source == "shapes" and cfg.kind == "shapes" and "shapes" in BUILT_IN
    info = cfg.validate()
    assert (info.format, info.num_classes, info.in_chans, info.image_size) == ("shapes", 10, 1, (32, 32))
    assert info.class_names == shapes.CLASS_NAMES
    assert info.num_images == 10 * shapes.PER_CLASS
    held_out = round(shapes.PER_CLASS * 0.2)  # the default test_fraction
    assert info.test_size == 10 * held_out
    assert info.val_size == 10 * round((shapes.PER_CLASS - held_out) * 0.25)
    assert info.train_size + info.val_size + info.test_size == info.num_images


def test_load_is_seeded_cached_resized_and_normalised() -> None:
    clear_cache()
    data = DatasetConfig(source="shapes", seed=7, subset=0.25).load(16, 3)
    assert data.x_train.shape[1:] == (3, 16, 16) and data.x_val.shape[1:] == (3, 16, 16)
    torch.testing.assert_close(data.x_train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    assert np.bincount(data.y_val.numpy(), minlength=10).min() >= 1
    assert DatasetConfig(source="shapes", seed=7, subset=0.25).load(16, 3) is data  # cached in-process
    other = DatasetConfig(source="shapes", seed=8, subset=0.25).load(16, 3)
    assert not torch.equal(other.x_train[:5], data.x_train[:5])  # the seed generates other images


def test_format_shapes_takes_source_shapes() -> None:
    assert DatasetConfig(source="shapes", format="shapes").kind == "shapes"
    with pytest.raises(DatasetError, match="'shapes'"):
        DatasetConfig(source="/data/x", format="shapes")


def test_a_search_config_names_shapes_as_json() -> None:
    config = SearchConfig.from_dict({"dataset": {"source": "shapes", "seed": 2}})
    assert config.dataset == DatasetConfig(source="shapes", seed=2)
    assert SearchConfig.from_dict(config.to_dict()) == config
