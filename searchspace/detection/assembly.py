"""A DetectorSpec as a ``Call`` tree: the builder instantiates it, the exporter writes it out as source."""

from __future__ import annotations

from torch import nn

from searchspace.assembly import network_plan
from searchspace.detection.counter import count_detector
from searchspace.detection.spec import DetectorSpec, SSDLiteHeadSpec
from searchspace.nn.det_heads import SSDLiteHead, YOLOXHead
from searchspace.nn.detector import BoxDecoder, Detector, GridDecoder
from searchspace.nn.layers import ConvNormAct
from searchspace.nn.neck import FPNLite
from searchspace.nn.plan import Arg, Call


def detector_plan(spec: DetectorSpec) -> Call:
    """Backbone (``network_plan(backbone, features=True)``), optional last conv, neck, head and decoder."""
    backbone = spec.backbone
    norm = {"bn_eps": backbone.bn_eps, "bn_momentum": backbone.bn_momentum}
    stages = backbone.feature_stages()
    levels = tuple(stages.index(s) for s in backbone.feature_stages(spec.feature_strides))
    counted = count_detector(spec)
    parts = {p.name: p for p in counted.parts}
    in_chs = [parts[f"stage{s}/{backbone.stages[s].block.kind}"].out_chs for s in stages]
    in_chs = [in_chs[i] for i in levels]
    last_conv = None
    if spec.last_conv:
        head = backbone.head
        last_conv = Call(ConvNormAct, {"in_chs": in_chs[-1], "out_chs": head.conv_chs, "act": head.act, **norm})
        in_chs[-1] = head.conv_chs
    neck = spec.neck
    if neck.kind == "none":
        neck_call = Call(nn.Identity, {})
    else:
        args = {"in_chs": tuple(in_chs), "width": neck.width, "kernel": neck.kernel, "act": neck.act,
                "bottom_up": neck.kind == "pan_lite", **norm}
        neck_call = Call(FPNLite, args)
        in_chs = [neck.width] * len(in_chs)
    num_classes = Arg("num_classes", spec.num_classes)
    sizes = tuple(level.size for level in counted.levels)
    h = spec.head
    if isinstance(h, SSDLiteHeadSpec):
        head_args = {"in_chs": tuple(in_chs), "extra_chs": h.extra_chs, "num_anchors": h.anchors_per_location,
                     "num_classes": num_classes, "kernel": h.kernel, "act": h.act, **norm}
        head_call = Call(SSDLiteHead, head_args)
        decoder = Call(BoxDecoder, {"resolution": spec.resolution, "sizes": sizes, "scales": h.scales(len(sizes)),
                                    "aspect_ratios": h.aspect_ratios})
    else:
        head_args = {"in_chs": tuple(in_chs), "width": h.width, "num_classes": num_classes, "convs": h.convs,
                     "kernel": h.kernel, "depthwise": h.depthwise, "act": h.act, **norm}
        head_call = Call(YOLOXHead, head_args)
        decoder = Call(GridDecoder, {"resolution": spec.resolution, "sizes": sizes, "strides": spec.feature_strides})
    args = {"backbone": network_plan(backbone, features=True), "neck": neck_call, "head": head_call,
            "decoder": decoder, "levels": levels, "last_conv": last_conv}
    return Call(Detector, args)


def build_detector(spec: DetectorSpec) -> nn.Module:
    """The detector for ``spec``: images in, per map (class logits, box values) out; ``.decode`` and
    ``.detect`` give boxes in pixels and scores (see ``searchspace.nn.detector``)."""
    return detector_plan(spec).build()
