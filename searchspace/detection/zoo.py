"""Reference detectors rebuilt as DetectorSpecs, with the published sizes they are compared with.

torchvision's ``ssdlite320_mobilenet_v3_large`` exactly (MobileNetV3-Large with the reduced tail, the C4
expansion tapped, SSDLite's extra layers and head, BN eps 0.001 and momentum 0.03); MobileNetV2, GhostNet and
ShuffleNetV2 backbones under SSDLite and under a YOLOX head. The ShuffleNetV2 one under YOLOX is
``yolox_nano_style``: YOLOX-Nano's head (depthwise, width 64, 416 px, 80 classes) on a PAN-lite neck and a
ShuffleNetV2 1.0x backbone, near YOLOX-Nano in size but not YOLOX-Nano (whose backbone is a CSPDarknet with a
Focus stem and whose PAFPN uses CSP layers at three widths; neither is expressible in our blocks).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from typing import Any

from searchspace.detection.spec import DetectorSpec, NeckSpec, SSDLiteHeadSpec, YOLOXHeadSpec
from searchspace.detection.taps import split_expansion
from searchspace.spec import ArchSpec
from searchspace.zoo import UnknownNetworkError
from searchspace.zoo import get as get_classifier
from searchspace.zoo.mobilenetv3 import mobilenet_v3


def ssdlite(backbone: ArchSpec, name: str, num_classes: int = 91, resolution: int = 320, tap: bool = True) -> DetectorSpec:
    """SSDLite on ``backbone`` (BN eps 0.001, momentum 0.03): maps at strides 16 (the expansion of the first
    stride-32 block when ``tap``) and 32 (after the backbone's last 1x1 conv), then SSDLite's four extra layers."""
    backbone = replace(backbone, resolution=resolution, bn_eps=1e-3, bn_momentum=0.03)
    if tap:
        backbone = split_expansion(backbone)
    return DetectorSpec(backbone=backbone, head=SSDLiteHeadSpec(), feature_strides=(16, 32), last_conv=True,
                        num_classes=num_classes, resolution=resolution, name=name)


def yolox(backbone: ArchSpec, name: str, num_classes: int = 80, resolution: int = 416, width: int = 64) -> DetectorSpec:
    """A YOLOX head (depthwise, ``width`` channels) on a PAN-lite neck of the same width over strides 8, 16, 32."""
    backbone = replace(backbone, resolution=resolution)
    return DetectorSpec(backbone=backbone, neck=NeckSpec(kind="pan_lite", width=width, act="swish"),
                        head=YOLOXHeadSpec(width=width), num_classes=num_classes, resolution=resolution, name=name)


NETWORKS: dict[str, Callable[[], DetectorSpec]] = {
    "ssdlite320_mobilenet_v3_large": lambda: ssdlite(
        mobilenet_v3("mobilenet_v3_large", reduced_tail=True), "ssdlite320_mobilenet_v3_large"
    ),
    "ssdlite320_mobilenet_v3_large_10cls": lambda: ssdlite(
        mobilenet_v3("mobilenet_v3_large", reduced_tail=True), "ssdlite320_mobilenet_v3_large_10cls", 10
    ),
    "ssdlite320_mobilenet_v2": lambda: ssdlite(get_classifier("mobilenet_v2"), "ssdlite320_mobilenet_v2"),
    "ssdlite320_ghostnet_1_0": lambda: ssdlite(get_classifier("ghostnet_1_0"), "ssdlite320_ghostnet_1_0", tap=False),
    "ssdlite320_shufflenet_v2_x1_0": lambda: ssdlite(
        get_classifier("shufflenet_v2_x1_0"), "ssdlite320_shufflenet_v2_x1_0", tap=False
    ),
    "yolox_nano_style": lambda: yolox(get_classifier("shufflenet_v2_x1_0"), "yolox_nano_style"),
    "yolox416_mobilenet_v2": lambda: yolox(get_classifier("mobilenet_v2"), "yolox416_mobilenet_v2"),
    "yolox416_ghostnet_1_0": lambda: yolox(get_classifier("ghostnet_1_0"), "yolox416_ghostnet_1_0"),
}


def names() -> list[str]:
    return list(NETWORKS)


@functools.cache
def get(name: str) -> DetectorSpec:
    """The DetectorSpec of zoo detector ``name``."""
    try:
        return NETWORKS[name]()
    except KeyError:
        raise UnknownNetworkError(name, names()) from None


@functools.cache
def published() -> dict[str, dict[str, Any]]:
    """Published and reference-implementation sizes of the detectors, keyed by name (``zoo/detection.json``)."""
    text = resources.files("searchspace.zoo").joinpath("detection.json").read_text()
    return {entry["name"]: entry for entry in json.loads(text)["networks"]}


def rows() -> list[dict[str, Any]]:
    """Our analytic sizes beside the reference implementation's and the published ones, for every detector."""
    from searchspace.detection.counter import count_detector

    out = []
    for name in names():
        spec, ref = get(name), published().get(name, {})
        c = count_detector(spec)
        ref_params = ref.get("reference_params")
        ref_macs = ref.get("reference_macs") or ref.get("reference_macs_rounded")
        out.append({
            "name": name,
            "head": spec.head.kind,
            "neck": spec.neck.kind,
            "resolution": spec.resolution,
            "num_classes": spec.num_classes,
            "params": c.params,
            "macs": c.macs,
            "reference_params": ref_params,
            "reference_macs": ref_macs,
            "params_deviation_pct": round(100 * (c.params / ref_params - 1), 3) if ref_params else None,
            "published_params": ref.get("paper_params"),
            "published_macs": ref.get("paper_macs"),
            "reference_implementation": ref.get("reference_implementation"),
        })
    return out
