"""Datasets: digits, ImageFolder and CIFAR-10 directories, the stratified split, and errors naming the path."""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from searchspace.errors import SpecError
from workers.data import DatasetConfig, DatasetError, held_out_test, stratified_split, stratified_subset

COLOURS = {"ant": (250, 10, 10), "bee": (10, 250, 10), "cat": (10, 10, 250)}


def _denormalise(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    return x * torch.tensor(std)[:, None, None] + torch.tensor(mean)[:, None, None]


# --- split --------------------------------------------------------------------------------------------------


def test_stratified_split_is_deterministic_disjoint_and_balanced() -> None:
    labels = load_digits().target
    train, val = stratified_split(labels, 0.2, seed=3)
    again_train, again_val = stratified_split(labels, 0.2, seed=3)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(val, again_val)
    assert not np.array_equal(val, stratified_split(labels, 0.2, seed=4)[1])
    assert not set(train) & set(val)
    assert len(train) + len(val) == len(labels)
    for c in range(10):
        n = int((labels == c).sum())
        assert int((labels[val] == c).sum()) == round(n * 0.2)


def test_held_out_test_split_is_fixed_disjoint_and_stratified() -> None:
    labels = load_digits().target
    test = held_out_test(labels, 0.2)
    np.testing.assert_array_equal(test, held_out_test(labels, 0.2))
    for c in range(10):
        assert int((labels[test] == c).sum()) == round(int((labels == c).sum()) * 0.2)
    for seed, subset, val_fraction in ((0, 1.0, 0.2), (7, 0.3, 0.5), (123, 0.05, 0.1)):
        train, val = stratified_split(labels, val_fraction, subset, seed, exclude=test)
        assert not (set(train) | set(val)) & set(test)  # no search split, whatever its seed, sees the test
    # without a test split, the train/validation split is the one of the versions before it existed
    old_train, old_val = stratified_split(labels, 0.2, seed=3)
    cfg = DatasetConfig(seed=3, test_fraction=0.0)
    data = cfg.load(8, 1)
    assert (len(data.y_train), len(data.y_val)) == (len(old_train), len(old_val))
    torch.testing.assert_close(data.y_val, torch.from_numpy(labels[old_val]))
    assert len(held_out_test(np.repeat(np.arange(3), [2, 3, 10]), 0.2)) == 0 + 1 + 2  # keeps 2 for train+val


def test_digits_test_split_loads_beside_the_same_train_and_val() -> None:
    cfg = DatasetConfig(seed=2, subset=0.5)
    plain, with_test = cfg.load(8, 1), cfg.load(8, 1, test=True)
    assert plain.x_test is None
    torch.testing.assert_close(with_test.x_train, plain.x_train)
    torch.testing.assert_close(with_test.y_val, plain.y_val)
    digits = load_digits()
    test = held_out_test(digits.target, 0.2)
    torch.testing.assert_close(with_test.y_test, torch.from_numpy(digits.target[test]))
    raw = _denormalise(with_test.x_test, with_test.mean, with_test.std)
    torch.testing.assert_close(raw[:, 0], torch.from_numpy(digits.images[test] / 16).float(), atol=1e-5, rtol=0)
    with pytest.raises(DatasetError, match="test_fraction"):
        DatasetConfig(test_fraction=0.0).load(8, 1, test=True)
    with pytest.raises(SpecError, match="test_fraction"):
        DatasetConfig(test_fraction=0.6)


def test_subset_is_stratified_and_nested() -> None:
    labels = np.repeat(np.arange(4), [50, 30, 20, 4])
    small_train, small_val = stratified_split(labels, 0.25, subset=0.5, seed=1)
    big_train, big_val = stratified_split(labels, 0.25, subset=1.0, seed=1)
    assert set(small_train) | set(small_val) <= set(big_train) | set(big_val)
    kept = np.bincount(labels[np.concatenate([small_train, small_val])], minlength=4)
    assert kept.tolist() == [25, 15, 10, 2]
    assert np.bincount(labels[small_val], minlength=4).min() >= 1  # every class is validated
    keep = stratified_subset(labels, 0.1, seed=0)
    assert np.bincount(labels[keep], minlength=4).tolist() == [5, 3, 2, 1]


# --- digits -------------------------------------------------------------------------------------------------


def test_digits_info_and_split_sizes() -> None:
    info = DatasetConfig(val_fraction=0.25, subset=0.5).validate()
    assert (info.format, info.num_classes, info.in_chans, info.image_size) == ("digits", 10, 1, (8, 8))
    assert info.num_images == 1797
    assert info.test_size == pytest.approx(1797 * 0.2, abs=10)  # held out first, whatever the subset
    assert info.train_size + info.val_size == pytest.approx((1797 - info.test_size) / 2, abs=10)
    assert info.val_size == pytest.approx(info.train_size / 3, rel=0.05)


def test_digits_load_matches_source_images_and_labels() -> None:
    cfg = DatasetConfig(seed=5)
    data = cfg.load(8, 1)
    digits = load_digits()
    train, val = stratified_split(digits.target, 0.2, seed=5, exclude=held_out_test(digits.target, 0.2))
    assert data.x_train.dtype == torch.float32 and data.x_train.shape == (len(train), 1, 8, 8)
    torch.testing.assert_close(data.y_val, torch.from_numpy(digits.target[val]))
    raw = _denormalise(data.x_val, data.mean, data.std)
    torch.testing.assert_close(raw[:, 0], torch.from_numpy(digits.images[val] / 16).float(), atol=1e-5, rtol=0)
    assert cfg.load(8, 1) is data  # cached in-process


def test_digits_resized_normalised_and_repeated_to_three_channels() -> None:
    data = DatasetConfig(subset=0.3).load(20, 3)
    assert data.x_train.shape[1:] == (3, 20, 20) and data.x_val.shape[1:] == (3, 20, 20)
    torch.testing.assert_close(data.x_train[:, 0], data.x_train[:, 2])
    mean = data.x_train.mean(dim=(0, 2, 3))
    std = data.x_train.std(dim=(0, 2, 3))
    torch.testing.assert_close(mean, torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(std, torch.ones(3), atol=1e-4, rtol=0)


def test_config_fields_are_validated() -> None:
    with pytest.raises(SpecError, match="val_fraction"):
        DatasetConfig(val_fraction=0.0)
    with pytest.raises(SpecError, match="format"):
        DatasetConfig(format="mnist")
    with pytest.raises(DatasetError, match="digits"):
        DatasetConfig(source="/data/x", format="digits")


def test_memory_limit_fails_before_resizing() -> None:
    with pytest.raises(DatasetError, match="GiB") as err:
        DatasetConfig(max_gib=0.001).load(64, 3)
    assert err.value.path == "digits"


# --- ImageFolder --------------------------------------------------------------------------------------------


def _image_folder(root: Path, per_class: int = 4) -> Path:
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            size = (12 + i, 10 + 2 * i)  # sizes differ: everything is resized to the spec's resolution
            Image.new("RGB", size, colour).save(root / name / f"{i}.png")
    return root


def test_image_folder_loads_classes_and_pixels(tmp_path: Path) -> None:
    cfg = DatasetConfig(source=str(_image_folder(tmp_path / "imgs")), val_fraction=0.25)
    info = cfg.validate()
    assert (info.format, info.class_names, info.in_chans) == ("imagefolder", ("ant", "bee", "cat"), 3)
    assert info.image_size is None  # sizes differ
    assert (info.train_size, info.val_size, info.test_size) == (6, 3, 3)  # 5 images a class: 1 held out for test
    data = cfg.load(8, 3, test=True)
    assert data.x_train.shape == (6, 3, 8, 8) and data.x_test.shape == (3, 3, 8, 8)
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)):
        pixels = _denormalise(x, data.mean, data.std)[:, :, 4, 4] * 255
        expected = torch.tensor([COLOURS[info.class_names[int(c)]] for c in y], dtype=torch.float32)
        torch.testing.assert_close(pixels, expected, atol=0.5, rtol=0)


def test_image_folder_grayscale_for_one_channel(tmp_path: Path) -> None:
    data = DatasetConfig(source=str(_image_folder(tmp_path / "imgs"))).load(8, 1)
    assert data.x_train.shape[1] == 1
    grey = _denormalise(data.x_train, data.mean, data.std)[:, 0, 4, 4] * 255
    r, g, b = (torch.tensor([COLOURS[("ant", "bee", "cat")[int(c)]][k] for c in data.y_train]) for k in range(3))
    torch.testing.assert_close(grey, (0.299 * r + 0.587 * g + 0.114 * b).float(), atol=1.0, rtol=0)


def test_image_folder_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match="does not exist") as err:
        DatasetConfig(source=str(missing)).validate()
    assert err.value.path == str(missing)

    one = tmp_path / "one"
    (one / "only").mkdir(parents=True)
    with pytest.raises(DatasetError, match="at least two class"):
        DatasetConfig(source=str(one)).validate()

    root = _image_folder(tmp_path / "imgs")
    (root / "dog").mkdir()
    (root / "dog" / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="holds no image files") as err:
        DatasetConfig(source=str(root)).validate()
    assert err.value.path == str(root / "dog")

    (root / "dog" / "broken.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(DatasetError, match="cannot be read as an image") as err:
        DatasetConfig(source=str(root)).validate()
    assert err.value.path == str(root / "dog" / "broken.png")


# --- CIFAR-10 -----------------------------------------------------------------------------------------------


def _cifar_batch(path: Path, n: int, offset: int) -> None:
    labels = [(offset + i) % 10 for i in range(n)]
    # Each image is filled with 20 * label + channel, so the test can check that pixels follow their labels.
    data = np.stack([np.repeat(np.array([20 * c, 20 * c + 1, 20 * c + 2], np.uint8), 1024) for c in labels])
    with open(path, "wb") as fh:
        pickle.dump({b"batch_label": b"x", b"labels": labels, b"data": data}, fh, protocol=2)


def _cifar_dir(root: Path, n: int = 20) -> Path:
    root.mkdir(parents=True)
    for i in range(1, 6):
        _cifar_batch(root / f"data_batch_{i}", n, i)
    _cifar_batch(root / "test_batch", 7, 0)
    names = [f"c{i}".encode() for i in range(10)]
    with open(root / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": names, b"num_cases_per_batch": n}, fh, protocol=2)
    return root


def test_cifar10_directory_loads(tmp_path: Path) -> None:
    cfg = DatasetConfig(source=str(_cifar_dir(tmp_path / "cifar")), val_fraction=0.2)
    info = cfg.validate()
    assert (info.format, info.num_classes, info.in_chans, info.image_size) == ("cifar10", 10, 3, (32, 32))
    assert (info.num_images, info.train_size, info.val_size, info.test_size) == (100, 80, 20, 7)
    assert info.class_names[:2] == ("c0", "c1")
    data = cfg.load(32, 3, test=True)
    assert data.x_val.shape == (20, 3, 32, 32)
    assert data.x_test.shape == (7, 3, 32, 32) and len(data.y_test) == 7  # the test batch, untouched by the split
    test_pixels = _denormalise(data.x_test, data.mean, data.std)[:, :, 5, 7] * 255
    torch.testing.assert_close(test_pixels, (20 * data.y_test[:, None] + torch.arange(3)).float(), atol=1e-3, rtol=0)
    assert torch.bincount(data.y_val, minlength=10).tolist() == [2] * 10
    pixels = _denormalise(data.x_train, data.mean, data.std)[:, :, 5, 7] * 255
    expected = (20 * data.y_train[:, None] + torch.arange(3)).float()
    torch.testing.assert_close(pixels, expected, atol=1e-3, rtol=0)


def test_cifar10_errors_name_the_file(tmp_path: Path) -> None:
    root = _cifar_dir(tmp_path / "cifar")
    (root / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="is missing") as err:
        DatasetConfig(source=str(root)).validate()
    assert err.value.path == str(root / "data_batch_3")

    with open(root / "data_batch_3", "wb") as fh:
        pickle.dump({b"labels": [0, 1], b"data": np.zeros((2, 100), np.uint8)}, fh)
    with pytest.raises(DatasetError, match=r"shape \(N, 3072\)") as err:
        DatasetConfig(source=str(root)).validate()
    assert err.value.path == str(root / "data_batch_3")

    (root / "data_batch_3").write_bytes(b"definitely not a pickle")
    with pytest.raises(DatasetError, match="not a CIFAR-10 python pickle"):
        DatasetConfig(source=str(root), format="cifar10").validate()


def test_cifar10_pickle_cannot_run_code(tmp_path: Path) -> None:
    root = _cifar_dir(tmp_path / "cifar")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple:
            return (Path.touch, (marker,))

    with open(root / "data_batch_2", "wb") as fh:
        pickle.dump({b"labels": [0], b"data": Exploit()}, fh)
    with pytest.raises(DatasetError, match="refusing to load") as err:
        DatasetConfig(source=str(root)).validate()
    assert err.value.path == str(root / "data_batch_2")
    assert not marker.exists()


def test_channel_mismatch_is_a_dataset_error(tmp_path: Path) -> None:
    cfg = DatasetConfig(source=str(_cifar_dir(tmp_path / "cifar")))
    with pytest.raises(DatasetError, match="3-channel images; the network takes 2"):
        cfg.load(32, 2)


def test_relative_directory_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _image_folder(tmp_path / "imgs")
    monkeypatch.chdir(tmp_path)
    cfg = DatasetConfig(source="imgs")
    assert cfg.source == str(tmp_path / "imgs") and cfg.validate().num_classes == 3
    assert DatasetConfig(source="digits").source == "digits"


# --- hostile directories ------------------------------------------------------------------------------------


def png_bomb(path: Path, side: int = 100_000) -> None:
    """A valid PNG header declaring ``side`` x ``side`` pixels (10^10: PIL refuses it unread), a few bytes long."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_non_regular_files_are_refused_without_blocking(tmp_path: Path) -> None:
    import os

    root = _image_folder(tmp_path / "imgs")
    os.mkfifo(root / "ant" / "pipe.png")  # opening it for reading would block until a writer came
    with pytest.raises(DatasetError, match=r"is not a regular file \(a FIFO\)") as err:
        DatasetConfig(source=str(root)).validate()
    assert err.value.path == str(root / "ant" / "pipe.png")
    (root / "ant" / "pipe.png").unlink()
    os.symlink(root / "nowhere.png", root / "bee" / "dangling.png")
    with pytest.raises(DatasetError, match="dangling symbolic link"):
        DatasetConfig(source=str(root)).validate()
    (root / "bee" / "dangling.png").unlink()
    os.symlink(root / "cat", root / "cat" / "loop")  # a directory cycle is walked once
    assert DatasetConfig(source=str(root)).validate().num_images == 12


def test_a_decompression_bomb_is_a_dataset_error(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "imgs")
    png_bomb(root / "cat" / "bomb.png")
    with pytest.raises(DatasetError, match="too large to decode safely") as err:
        DatasetConfig(source=str(root)).validate()
    assert err.value.path == str(root / "cat" / "bomb.png")
    (root / "cat" / "bomb.png").unlink()
    png_bomb(root / "cat" / "big.png", side=10_000)  # above PIL's warning limit, below its error limit
    with pytest.raises(DatasetError, match="above the limit of"), pytest.warns(Image.DecompressionBombWarning):
        DatasetConfig(source=str(root)).validate()


def test_symlinks_out_of_the_allowed_directory_are_refused(tmp_path: Path) -> None:
    import os

    outside = _image_folder(tmp_path / "outside")
    root = _image_folder(tmp_path / "data" / "imgs")
    os.symlink(outside / "ant", root / "dog")
    cfg = DatasetConfig(source=str(root))
    assert cfg.validate().num_classes == 4  # no confinement asked for
    with pytest.raises(DatasetError, match="pointing outside") as err:
        cfg.validate(within=tmp_path / "data")
    assert err.value.path == str(root / "dog") and str(outside) not in err.value.message
    (root / "dog").unlink()
    os.symlink(tmp_path / "outside" / "batch", tmp_path / "data" / "imgs" / "data_batch_1")
    with pytest.raises(DatasetError, match="pointing outside"):
        DatasetConfig(source=str(root)).validate(within=tmp_path / "data")


def test_the_check_stops_at_its_time_limit(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "imgs")
    with pytest.raises(DatasetError, match="took longer than"):
        DatasetConfig(source=str(root)).validate(time_limit_s=1e-9)
    assert DatasetConfig(source=str(root)).validate(time_limit_s=60).num_images == 12


def test_a_nul_byte_or_an_unreadable_name_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="NUL"):
        DatasetConfig(source=f"{tmp_path}/a\x00b")
    with pytest.raises(DatasetError, match="cannot be read"):
        DatasetConfig(source=str(tmp_path / ("x" * 300))).validate()
