"""Reading box annotations safely: COCO JSON, Pascal VOC XML and YOLO txt folders, every box checked on load.

A box is (x1, y1, x2, y2) in pixels of the image as stored, exclusive ends (VOC's 1-based inclusive corners
become x1 - 1, y1 - 1, x2, y2; YOLO's normalised centre and size are scaled by the image's size). A box
outside the image, inverted, of zero area, of an unknown class or unreadable is an AnnotationError naming the
annotation file and the annotation's index; so is an image path leaving the dataset directory. Only regular
files are read, annotation files up to a size limit, images through ``workers.data``'s bounded decoding (their
header only, for the size). VOC XML is parsed by defusedxml when it is installed, else a file declaring a DTD
or an entity is refused before the standard library's parser sees it.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.data import IMAGE_EXTENSIONS, DatasetError, Scope, image_files, open_image, open_regular
from workers.detection.errors import AnnotationError

MAX_JSON_BYTES = 1 << 30
MAX_TEXT_BYTES = 16 << 20  # one VOC XML or YOLO txt file
TOLERANCE = 1e-3  # px a box may pass the image's edge by (rounding of normalised YOLO boxes); it is clipped


@dataclass(frozen=True, eq=False)
class BoxRecord:
    """One image file, its (width, height), boxes float32 (n, 4) and object-class indices int64 (n,)."""

    file: str
    size: tuple[int, int]
    boxes: np.ndarray
    labels: np.ndarray


def checked_box(path: str | os.PathLike[str], index: int, corners: Any, size: tuple[int, int]) -> np.ndarray:
    """``corners`` (x1, y1, x2, y2) as float32 when they are a box inside an image of ``size``; else the
    AnnotationError saying which check failed."""
    try:
        if isinstance(corners, str | bytes | dict):
            raise TypeError
        box = [float(v) for v in corners]
    except (TypeError, ValueError):
        raise AnnotationError(path, index, f"box {str(corners)[:80]} is not four numbers") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise AnnotationError(path, index, f"box {str(corners)[:80]} is not four finite numbers")
    x1, y1, x2, y2 = box
    if x2 < x1 or y2 < y1:
        raise AnnotationError(path, index, f"box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) is inverted (x2 < x1 or y2 < y1)")
    if x2 == x1 or y2 == y1:
        raise AnnotationError(path, index, f"box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) has zero area")
    width, height = size
    if x1 < -TOLERANCE or y1 < -TOLERANCE or x2 > width + TOLERANCE or y2 > height + TOLERANCE:
        raise AnnotationError(path, index, f"box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) is outside the "
                                           f"{width}x{height} image")
    return np.clip(np.asarray(box, np.float32), 0, [width, height, width, height]).astype(np.float32)


def checked_class(path: str | os.PathLike[str], index: int, value: Any, known: dict[Any, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or value not in known:
        names = ", ".join(map(str, list(known)[:20]))
        raise AnnotationError(path, index, f"class {str(value)[:80]!r} is unknown (known: {names})")
    return known[value]


def read_text(path: Path, limit: int = MAX_TEXT_BYTES) -> str:
    """A regular file's text, at most ``limit`` bytes (DatasetError past it, or when it is not UTF-8)."""
    with open_regular(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise DatasetError(path, f"is larger than {limit:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(path, "is not UTF-8 text") from None


def image_size(path: str, what: str) -> tuple[int, int]:
    with open_image(path, what) as img:
        return img.size


def inside(root: Path, relative: str, annotations: Path, index: int | None) -> str:
    """``root/relative`` when it stays under ``root`` (links resolved); AnnotationError otherwise."""
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise AnnotationError(annotations, index, f"image name {str(relative)[:80]!r} is not a file name")
    path = root / relative
    if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root)):
        raise AnnotationError(annotations, index, f"image {relative[:200]!r} is outside {root}")
    return str(path)


def read_coco(root: Path, annotations: Path, scope: Scope) -> tuple[tuple[str, ...], list[BoxRecord]]:
    """A COCO detection JSON: ``images`` (id, file_name under ``root``), ``categories`` (id, name; classes in id
    order) and ``annotations`` (image_id, category_id, bbox x, y, w, h); crowd annotations are skipped."""
    scope.check(annotations)
    try:
        data = json.loads(read_text(annotations, MAX_JSON_BYTES))
    except (ValueError, RecursionError) as err:
        raise AnnotationError(annotations, None, f"is not valid JSON: {str(err)[:200]}") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations",
                                                                                      "categories")):
        raise AnnotationError(annotations, None, "must be an object with lists 'images', 'annotations' and "
                                                 "'categories'")
    try:
        categories = sorted((int(c["id"]), str(c["name"])) for c in data["categories"])
    except (TypeError, KeyError, ValueError):
        raise AnnotationError(annotations, None, "every category needs an integer 'id' and a 'name'") from None
    if not categories:
        raise AnnotationError(annotations, None, "lists no category")
    known = {cid: i for i, (cid, _) in enumerate(categories)}
    images: dict[Any, tuple[str, tuple[int, int]]] = {}
    for i, entry in enumerate(data["images"]):
        if not isinstance(entry, dict) or "id" not in entry or "file_name" not in entry:
            raise AnnotationError(annotations, None, f"image entry {i} needs an 'id' and a 'file_name'")
        if isinstance(entry["id"], bool) or not isinstance(entry["id"], int | str):
            raise AnnotationError(annotations, None, f"image entry {i}: id must be an integer or a string")
        if entry["id"] in images:
            raise AnnotationError(annotations, None, f"image entry {i}: id {str(entry['id'])[:40]} is listed twice")
        file = inside(root, entry["file_name"], annotations, None)
        scope.check(file)
        images[entry["id"]] = (file, image_size(file, "cannot be read as an image"))
    boxes: dict[Any, list[np.ndarray]] = {key: [] for key in images}
    labels: dict[Any, list[int]] = {key: [] for key in images}
    for index, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or "bbox" not in ann or "image_id" not in ann or "category_id" not in ann:
            raise AnnotationError(annotations, index, "needs 'image_id', 'category_id' and 'bbox'")
        if ann.get("iscrowd"):
            continue
        key = ann["image_id"]
        if isinstance(key, bool) or not isinstance(key, int | str) or key not in images:
            raise AnnotationError(annotations, index, f"image_id {str(key)[:40]} names no image")
        label = checked_class(annotations, index, ann["category_id"], known)
        xywh = ann["bbox"]
        if not isinstance(xywh, list) or len(xywh) != 4:
            raise AnnotationError(annotations, index, f"bbox {str(xywh)[:80]} is not [x, y, width, height]")
        try:
            x, y, w, h = (float(v) for v in xywh)
        except (TypeError, ValueError):
            raise AnnotationError(annotations, index, f"bbox {str(xywh)[:80]} is not four numbers") from None
        boxes[key].append(checked_box(annotations, index, (x, y, x + w, y + h), images[key][1]))
        labels[key].append(label)
    records = [record(file, size, boxes[key], labels[key]) for key, (file, size) in images.items()]
    return tuple(name for _, name in categories), records


def record(file: str, size: tuple[int, int], boxes: list[np.ndarray], labels: list[int]) -> BoxRecord:
    return BoxRecord(file=file, size=size, boxes=np.stack(boxes) if boxes else np.zeros((0, 4), np.float32),
                     labels=np.asarray(labels, np.int64))


def parse_xml(path: Path) -> Any:
    """The XML root of ``path``: defusedxml when installed; else DTDs and entities are refused first."""
    text = read_text(path)
    try:
        from defusedxml import ElementTree as safe_tree
        from defusedxml.common import DefusedXmlException
    except ImportError:
        safe_tree, DefusedXmlException = None, ()
    if safe_tree is None and ("<!DOCTYPE" in text or "<!ENTITY" in text):
        raise AnnotationError(path, None, "declares a DTD or an entity; refused")
    from xml.etree import ElementTree

    try:
        return (safe_tree or ElementTree).fromstring(text)
    except DefusedXmlException:
        raise AnnotationError(path, None, "declares a DTD or an entity; refused") from None
    except ElementTree.ParseError as err:
        raise AnnotationError(path, None, f"is not well-formed XML: {err}") from None


def read_voc(root: Path, classes: tuple[str, ...], scope: Scope) -> tuple[tuple[str, ...], list[BoxRecord]]:
    """A Pascal VOC folder: ``Annotations/*.xml`` (``filename``, ``object``s of ``name`` and ``bndbox``) and the
    images under ``JPEGImages``. Classes: ``classes`` when given, else ``classes.txt`` (one a line) when there
    is one, else every name found, sorted."""
    folder = root / "Annotations"
    files = sorted(p for p in folder.glob("*.xml") if not p.name.startswith("."))
    if not files:
        raise DatasetError(folder, "holds no .xml annotation file")
    if not classes and (root / "classes.txt").exists():
        classes = class_list(root / "classes.txt")
    parsed = []
    for path in files:
        scope.check(path)
        parsed.append((path, parse_xml(path)))
    if not classes:
        classes = tuple(sorted({(o.findtext("name") or "").strip() for _, xml in parsed for o in xml.iter("object")}))
    known = {name: i for i, name in enumerate(classes)}
    records = []
    for path, xml in parsed:
        name = (xml.findtext("filename") or "").strip()
        file = inside(root / "JPEGImages", name, path, None)
        size = image_size(file, "cannot be read as an image")
        boxes, labels = [], []
        for index, obj in enumerate(xml.iter("object")):
            labels.append(checked_class(path, index, (obj.findtext("name") or "").strip(), known))
            bndbox = obj.find("bndbox")
            if bndbox is None:
                raise AnnotationError(path, index, "has no <bndbox>")
            corners = [bndbox.findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")]
            try:
                x1, y1, x2, y2 = (float(v) for v in corners)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise AnnotationError(path, index, f"<bndbox> {corners} is not four numbers") from None
            boxes.append(checked_box(path, index, (x1 - 1, y1 - 1, x2, y2), size))
        records.append(record(file, size, boxes, labels))
    return classes, records


def class_list(path: Path) -> tuple[str, ...]:
    names = tuple(line.strip() for line in read_text(path).splitlines() if line.strip())
    if not names:
        raise DatasetError(path, "lists no class")
    if len(set(names)) != len(names):
        raise DatasetError(path, "lists a class twice")
    return names


def read_yolo(root: Path, classes: tuple[str, ...], scope: Scope) -> tuple[tuple[str, ...], list[BoxRecord]]:
    """A YOLO folder: ``images/**`` and ``labels/**`` (the same relative path, ``.txt``; none: no object),
    lines ``class cx cy w h`` normalised to the image; classes from ``classes`` or ``classes.txt``."""
    if not classes:
        if not (root / "classes.txt").exists():
            raise DatasetError(root, "a YOLO folder needs classes.txt (one class name a line) or the classes field")
        classes = class_list(root / "classes.txt")
    images = image_files(root / "images", scope)
    if not images:
        raise DatasetError(root / "images", f"holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
    known = {i: i for i in range(len(classes))}
    records = []
    for file in images:
        size = image_size(file, "cannot be read as an image")
        label_path = (root / "labels" / Path(file).relative_to(root / "images")).with_suffix(".txt")
        boxes, labels = [], []
        if os.path.lexists(label_path):
            scope.check(label_path)
            lines = [line.split() for line in read_text(label_path).splitlines() if line.strip()]
            for index, parts in enumerate(lines):
                if len(parts) != 5:
                    raise AnnotationError(label_path, index, f"has {len(parts)} fields, not 'class cx cy w h'")
                try:
                    cls = int(parts[0])
                    cx, cy, w, h = (float(v) for v in parts[1:])
                except ValueError:
                    raise AnnotationError(label_path, index, f"{' '.join(parts)[:80]!r} is not 'class cx cy w h' "
                                                             "numbers") from None
                labels.append(checked_class(label_path, index, cls, known))
                width, height = size
                corners = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
                boxes.append(checked_box(label_path, index, corners, size))
        records.append(record(file, size, boxes, labels))
    return classes, records


def is_directory(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False
