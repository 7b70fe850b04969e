"""Analytic parameter and multiply-add count of a DetectorSpec, with the shape of every map the head reads.

No module is built. The convention is the classifier counter's: conv and linear multiply-adds only (batch norm,
upsampling, additions, activations and the box decoding are not counted).
"""

from __future__ import annotations

from dataclasses import dataclass

from searchspace.counter import Count, PartCount
from searchspace.counter import count as count_arch
from searchspace.detection.spec import DetectorSpec, NeckSpec, SSDLiteHeadSpec, YOLOXHeadSpec
from searchspace.tally import Tally


@dataclass(frozen=True)
class Level:
    """One map the head predicts on: its channels and side (maps are square)."""

    chs: int
    size: int


@dataclass(frozen=True)
class DetectorCount(Count):
    """The totals and parts (backbone stem and stages, last conv, neck, head), and the head's maps."""

    levels: tuple[Level, ...] = ()


def _ds(t: Tally, out_chs: int, kernel: int, stride: int = 1) -> Tally:
    """Depthwise-separable conv: kxk depthwise + BN, 1x1 + BN."""
    return t.conv(t.chs, kernel, stride, groups=t.chs).norm().conv(out_chs).norm()


def _at(level: Tally) -> Tally:
    """A zero-cost tally at a map's shape."""
    return Tally(level.chs, level.h, level.w)


def _neck(neck: NeckSpec, maps: list[Tally], total: Tally) -> list[Tally]:
    if neck.kind == "none":
        return maps
    outs = []
    for m in maps:
        t = _ds(_at(m).conv(neck.width).norm(), neck.width, neck.kernel)
        total.merge(t)
        outs.append(_at(t))
    if neck.kind == "pan_lite":
        for i in range(1, len(outs)):
            down = _ds(_at(outs[i - 1]), neck.width, neck.kernel, 2)  # its size is outs[i]'s (DetectorSpec checks)
            total.merge(down).merge(_ds(_at(outs[i]), neck.width, neck.kernel))
    return outs


def _ssdlite(head: SSDLiteHeadSpec, maps: list[Tally], classes: int, total: Tally) -> list[Tally]:
    maps = list(maps)
    for chs in head.extra_chs:
        t = _at(maps[-1]).conv(chs // 2).norm()
        t.conv(chs // 2, 3, 2, groups=chs // 2).norm().conv(chs).norm()
        total.merge(t)
        maps.append(_at(t))
    anchors = head.anchors_per_location
    for m in maps:
        for outputs in (anchors * classes, anchors * 4):
            t = _at(m).conv(m.chs, head.kernel, groups=m.chs).norm().conv(outputs, bias=True)
            total.merge(t)
    return maps


def _yolox(head: YOLOXHeadSpec, maps: list[Tally], classes: int, total: Tally) -> list[Tally]:
    for m in maps:
        stem = _at(m).conv(head.width).norm()
        for branch in ("cls", "reg"):
            t = _at(stem)
            for _ in range(head.convs):
                if head.depthwise:
                    _ds(t, head.width, head.kernel)
                else:
                    t.conv(head.width, head.kernel).norm()
            for outputs in (classes,) if branch == "cls" else (4, 1):
                total.merge(_at(t).conv(outputs, bias=True))
            total.merge(t)
        total.merge(stem)
    return maps


def count_detector(spec: DetectorSpec) -> DetectorCount:
    """Parameters and MACs of ``build_detector(spec)``, per part, and the maps the head predicts on."""
    backbone = count_arch(spec.backbone, features=True)
    parts = list(backbone.parts)
    params, macs = backbone.params, backbone.macs
    maps = []
    for stage in spec.backbone.feature_stages(spec.feature_strides):
        part = parts[stage + 1]
        maps.append(Tally(part.out_chs, *part.out_size))

    def add(name: str, total: Tally, last: Tally) -> None:
        nonlocal params, macs
        parts.append(PartCount(name, total.params, total.macs, last.chs, (last.h, last.w)))
        params, macs = params + total.params, macs + total.macs

    if spec.last_conv:
        head = spec.backbone.head
        t = _at(maps[-1]).conv(head.conv_chs).norm()
        add("last_conv", t, t)
        maps[-1] = _at(t)
    total = Tally(0, 0, 0)
    maps = _neck(spec.neck, maps, total)
    if spec.neck.kind != "none":
        add(f"neck/{spec.neck.kind}", total, maps[-1])
    total = Tally(0, 0, 0)
    if isinstance(spec.head, SSDLiteHeadSpec):
        maps = _ssdlite(spec.head, maps, spec.num_classes, total)
    else:
        maps = _yolox(spec.head, maps, spec.num_classes, total)
    add(f"head/{spec.head.kind}", total, maps[-1])
    levels = tuple(Level(m.chs, m.h) for m in maps)
    return DetectorCount(params, macs, tuple(parts), levels=levels)
