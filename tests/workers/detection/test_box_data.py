"""Box data: each reader on a tiny folder it writes, the specific error for every bad annotation, the built-in
set, the config's validation and the splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from workers.data import DatasetError
from workers.detection import AnnotationError, BoxDatasetConfig, BoxFormat
from workers.detection.builtin import CLASS_NAMES, generate
from workers.detection.readers import checked_box

W, H = 40, 30


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((H, W, 3), 128, np.uint8)).save(path)


def write_coco(root: Path, boxes: list[list[float]] | None = None, category: int = 7) -> Path:
    for i in range(3):
        _image(root / "images" / f"{i}.png")
    boxes = boxes if boxes is not None else [[2, 3, 10, 5]]
    data = {
        "images": [{"id": i, "file_name": f"images/{i}.png", "width": W, "height": H} for i in range(3)],
        "categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}],
        "annotations": [{"id": 0, "image_id": 0, "category_id": 3, "bbox": [0, 0, 5, 5]}]
        + [{"id": k + 1, "image_id": 1, "category_id": category, "bbox": b} for k, b in enumerate(boxes)],
    }
    (root / "annotations.json").write_text(json.dumps(data))
    return root


def write_voc(root: Path, box: tuple[str, ...] = ("3", "4", "12", "9"), name: str = "cat") -> Path:
    (root / "Annotations").mkdir(parents=True)
    for i in range(3):
        _image(root / "JPEGImages" / f"{i}.png")
        objects = "<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>" \
                  "</bndbox></object>"
        if i == 1:
            objects += (f"<object><name>{name}</name><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin>"
                        f"<xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>")
        (root / "Annotations" / f"{i}.xml").write_text(
            f"<annotation><filename>{i}.png</filename>{objects}</annotation>")
    (root / "classes.txt").write_text("cat\ndog\n")
    return root


def write_yolo(root: Path, line: str = "0 0.5 0.5 0.5 0.2") -> Path:
    for i in range(3):
        _image(root / "images" / f"{i}.png")
    (root / "labels").mkdir()
    (root / "labels" / "0.txt").write_text("1 0.25 0.25 0.1 0.1\n")
    (root / "labels" / "1.txt").write_text(f"1 0.5 0.5 0.2 0.2\n\n{line}\n")
    (root / "classes.txt").write_text("cat\ndog\n")
    return root


def test_coco_reader(tmp_path: Path) -> None:
    src = BoxDatasetConfig(source=str(write_coco(tmp_path, [[2, 3, 10, 5], [0, 0, 40, 30]]))).read()
    assert src.kind == BoxFormat.COCO and src.class_names == ("dog", "cat")  # category id order
    by_file = {Path(r.file).name: r for r in src.records}
    assert by_file["1.png"].boxes.tolist() == [[2, 3, 12, 8], [0, 0, 40, 30]]
    assert by_file["1.png"].labels.tolist() == [1, 1]
    assert by_file["0.png"].labels.tolist() == [0] and len(by_file["2.png"].boxes) == 0
    assert by_file["0.png"].size == (W, H)


def test_voc_reader(tmp_path: Path) -> None:
    src = BoxDatasetConfig(source=str(write_voc(tmp_path))).read()
    assert src.kind == BoxFormat.VOC and src.class_names == ("cat", "dog")
    rec = {Path(r.file).name: r for r in src.records}["1.png"]
    assert rec.boxes.tolist() == [[0, 0, 5, 5], [2, 3, 12, 9]]  # 1-based inclusive -> 0-based exclusive
    assert rec.labels.tolist() == [1, 0]


def test_yolo_reader(tmp_path: Path) -> None:
    src = BoxDatasetConfig(source=str(write_yolo(tmp_path))).read()
    assert src.kind == BoxFormat.YOLO and src.class_names == ("cat", "dog")
    rec = {Path(r.file).name: r for r in src.records}
    np.testing.assert_allclose(rec["1.png"].boxes, [[16, 12, 24, 18], [10, 12, 30, 18]], atol=1e-4)
    assert rec["1.png"].labels.tolist() == [1, 0] and len(rec["2.png"].boxes) == 0


BAD = {  # what is wrong -> (COCO bbox x, y, w, h; VOC xmin, ymin, xmax, ymax; YOLO line; expected words)
    "outside": ([30, 3, 20, 5], ("3", "4", "45", "9"), "0 0.9 0.5 0.5 0.2", "outside the 40x30 image"),
    "inverted": ([5, 3, -4, 5], ("12", "4", "3", "9"), "0 0.5 0.5 -0.2 0.2", "inverted"),
    "zero-area": ([5, 3, 0, 5], ("3", "4", "2", "9"), "0 0.5 0.5 0 0.2", "zero area"),
    "corrupt": ([5, "x", 1, 5], ("3", "a", "12", "9"), "0 0.5 nan? 0.1 0.1", "not"),
}


@pytest.mark.parametrize("what", BAD)
def test_bad_coco_annotation_names_file_and_index(tmp_path: Path, what: str) -> None:
    write_coco(tmp_path, [[1, 1, 2, 2], BAD[what][0]])
    with pytest.raises(AnnotationError, match=BAD[what][3]) as err:
        BoxDatasetConfig(source=str(tmp_path)).read()
    assert err.value.index == 2 and err.value.path.endswith("annotations.json")
    assert "annotation 2:" in str(err.value)


@pytest.mark.parametrize("what", BAD)
def test_bad_voc_annotation_names_file_and_index(tmp_path: Path, what: str) -> None:
    write_voc(tmp_path, BAD[what][1])
    with pytest.raises(AnnotationError, match=BAD[what][3]) as err:
        BoxDatasetConfig(source=str(tmp_path)).read()
    assert err.value.index == 1 and err.value.path.endswith("1.xml")


@pytest.mark.parametrize("what", BAD)
def test_bad_yolo_annotation_names_file_and_index(tmp_path: Path, what: str) -> None:
    write_yolo(tmp_path, BAD[what][2])
    with pytest.raises(AnnotationError, match=BAD[what][3]) as err:
        BoxDatasetConfig(source=str(tmp_path)).read()
    assert err.value.index == 1 and err.value.path.endswith("1.txt")


def test_unknown_classes(tmp_path: Path) -> None:
    write_coco(tmp_path / "coco", category=99)
    with pytest.raises(AnnotationError, match="class '99' is unknown") as err:
        BoxDatasetConfig(source=str(tmp_path / "coco")).read()
    assert err.value.index == 1
    write_voc(tmp_path / "voc", name="horse")
    with pytest.raises(AnnotationError, match="class 'horse' is unknown") as err:
        BoxDatasetConfig(source=str(tmp_path / "voc")).read()
    assert err.value.index == 1
    write_yolo(tmp_path / "yolo", "2 0.5 0.5 0.1 0.1")
    with pytest.raises(AnnotationError, match="class '2' is unknown") as err:
        BoxDatasetConfig(source=str(tmp_path / "yolo")).read()
    assert err.value.index == 1


def test_corrupt_files_and_hostile_input(tmp_path: Path) -> None:
    (write_coco(tmp_path / "coco") / "annotations.json").write_text("{not json")
    with pytest.raises(AnnotationError, match="not valid JSON"):
        BoxDatasetConfig(source=str(tmp_path / "coco")).read()
    for bad, words in ((("category_id", [7]), "annotation 1: class"), (("image_id", {"a": 1}), "annotation 1: image_id"),
                       (("bbox", "1234"), "annotation 1: bbox")):
        coco = write_coco(tmp_path / f"coco-{bad[0]}")
        data = json.loads((coco / "annotations.json").read_text())
        data["annotations"][1][bad[0]] = bad[1]
        (coco / "annotations.json").write_text(json.dumps(data))
        with pytest.raises(AnnotationError, match=words):
            BoxDatasetConfig(source=str(coco)).read()
    voc = write_voc(tmp_path / "voc")
    (voc / "Annotations" / "2.xml").write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]>'
                                               "<annotation><filename>&e;</filename></annotation>")
    with pytest.raises(AnnotationError, match="DTD or an entity") as err:
        BoxDatasetConfig(source=str(voc)).read()
    assert err.value.path.endswith("2.xml")
    (voc / "Annotations" / "2.xml").write_text("<annotation><filename>2.png</filename>")
    with pytest.raises(AnnotationError, match="not well-formed"):
        BoxDatasetConfig(source=str(voc)).read()
    (voc / "Annotations" / "2.xml").write_text("<annotation><filename>../../x.png</filename></annotation>")
    with pytest.raises(AnnotationError, match="outside"):
        BoxDatasetConfig(source=str(voc)).read()
    yolo = write_yolo(tmp_path / "yolo")
    (yolo / "images" / "0.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="0.png"):
        BoxDatasetConfig(source=str(yolo)).read()


def test_config_validation() -> None:
    with pytest.raises(Exception, match="val_fraction"):
        BoxDatasetConfig(val_fraction=0.95)
    with pytest.raises(DatasetError, match="goes with source"):
        BoxDatasetConfig(source="/tmp", format="builtin-boxes")
    with pytest.raises(DatasetError, match="twice"):
        BoxDatasetConfig(classes=("a", "a"))
    assert BoxDatasetConfig(format="coco", source="x").format is BoxFormat.COCO


def test_builtin_set_is_seeded_and_boxes_are_tight() -> None:
    a, boxes, labels = generate(3, images=6, size=64)
    b, boxes2, _ = generate(3, images=6, size=64)
    assert np.array_equal(a, b) and all(np.array_equal(x, y) for x, y in zip(boxes, boxes2, strict=True))
    assert not np.array_equal(a, generate(4, images=6, size=64)[0])
    for box_set, label_set in zip(boxes, labels, strict=True):
        assert 1 <= len(box_set) <= 4 and set(label_set.tolist()) <= set(range(len(CLASS_NAMES)))
        assert (box_set[:, 2:] > box_set[:, :2]).all() and box_set.min() >= 0 and box_set.max() <= 64


def test_builtin_splits_are_disjoint_and_scaled() -> None:
    data = BoxDatasetConfig(images=40, seed=1).load(48)
    assert len(data.train) + len(data.val) + len(data.test) == 40 and len(data.test) == 8
    assert data.train.images.shape[1:] == (3, 48, 48) and data.train.images.dtype.is_floating_point is False
    assert all(float(b.max()) <= 48 for b in data.train.boxes)
    assert data.class_names == CLASS_NAMES


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-100, 100), st.text(max_size=3)),
                min_size=0, max_size=5))
def test_checked_box_returns_a_box_inside_or_raises_the_annotation_error(corners: list[object]) -> None:
    try:
        box = checked_box("a.json", 3, corners, (W, H))
    except AnnotationError as err:
        assert err.index == 3 and str(err).startswith("a.json: annotation 3: ")
        return
    assert box.shape == (4,) and 0 <= box[0] < box[2] <= W and 0 <= box[1] < box[3] <= H


def test_without_defusedxml_a_dtd_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "defusedxml", None)  # import fails: the standard library's parser is used
    voc = write_voc(tmp_path)
    (voc / "Annotations" / "0.xml").write_text('<!DOCTYPE a [<!ENTITY b "c">]><annotation><filename>&b;</filename>'
                                               "</annotation>")
    with pytest.raises(AnnotationError, match="DTD or an entity") as err:
        BoxDatasetConfig(source=str(voc)).read()
    assert err.value.path.endswith("0.xml")
    (voc / "Annotations" / "0.xml").write_text("<annotation><filename>0.png</filename></annotation>")
    assert len(BoxDatasetConfig(source=str(voc)).read().records) == 3
