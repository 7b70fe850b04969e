"""The detector spec: a backbone ArchSpec, a neck and a detection head, frozen and validated like ArchSpec.

``DetectorSpec`` = backbone (any ArchSpec whose stages reach strides 16 and 32, and 8 where the head reads it)
+ neck (``none``, ``fpn_lite`` or ``pan_lite``, depthwise-separable convs at one width) + head (``ssdlite``:
SSD's default boxes on the feature maps and SSDLite's extra layers, depthwise-separable predictors; ``yolox``:
anchor-free, decoupled classification and box branches). The backbone's classifier part (pool, hidden layer,
classes) is not used; its last 1x1 conv is, when ``last_conv`` is set.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from searchspace.blocks import ACTIVATIONS
from searchspace.checks import check_bool, check_choice, check_float, check_int
from searchspace.codec import from_dict, from_token, to_dict, to_token
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.spec import _NAME, MAX_CHANNELS, ArchSpec

SCHEMA_VERSION = 1
NECK_KINDS = ("none", "fpn_lite", "pan_lite")
FEATURE_STRIDES = ((8, 16, 32), (16, 32))
MAX_EXTRA = 8
MAX_CLASSES = 10_000


@dataclass(frozen=True, kw_only=True)
class NeckSpec:
    """How the backbone maps are fused before the head. ``none``: as they are. ``fpn_lite``: a 1x1 conv + BN +
    act to ``width`` per level, top-down nearest upsampling and addition, then a depthwise-separable conv
    (kxk depthwise + BN + act, 1x1 + BN + act) per level. ``pan_lite``: the same, then bottom-up: a
    depthwise-separable stride-2 conv of the finer level added to each coarser one and a depthwise-separable
    conv after each sum."""

    kind: str = "none"
    width: int = 0
    kernel: int = 3
    act: str = "relu6"

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, NECK_KINDS)
        check_choice("kernel", self.kernel, (3, 5, 7))
        check_choice("act", self.act, ACTIVATIONS)
        if self.kind == "none":
            check_int("width", self.width, 0, 0)
        else:
            check_int("width", self.width, 8, MAX_CHANNELS)


@dataclass(frozen=True, kw_only=True)
class SSDLiteHeadSpec:
    """SSDLite (MobileNetV2 paper, section 6.2): after the last feature map, extra layers (1x1 conv to c/2,
    3x3 depthwise stride 2, 1x1 conv to c; each + BN + act) per ``extra_chs``; on every map a depthwise kxk
    conv + BN + act then a 1x1 conv with bias to (classes, 4 box deltas) per default box. Default boxes per
    location: 2 + 2 x len(aspect_ratios), at scales spread linearly from ``min_ratio`` to ``max_ratio`` of the
    image over the maps (torchvision's ``DefaultBoxGenerator``)."""

    kind: ClassVar[str] = "ssdlite"

    extra_chs: tuple[int, ...] = (512, 256, 256, 128)
    aspect_ratios: tuple[float, ...] = (2.0, 3.0)
    min_ratio: float = 0.2
    max_ratio: float = 0.95
    kernel: int = 3
    act: str = "relu6"

    def __post_init__(self) -> None:
        if not isinstance(self.extra_chs, tuple) or len(self.extra_chs) > MAX_EXTRA:
            raise SpecError("extra_chs", f"must be a list of at most {MAX_EXTRA} channel counts")
        for i, chs in enumerate(self.extra_chs):
            check_int(f"extra_chs[{i}]", chs, 2, MAX_CHANNELS)
        if not isinstance(self.aspect_ratios, tuple) or len(self.aspect_ratios) > 4:
            raise SpecError("aspect_ratios", "must be a list of at most 4 ratios")
        ratios = tuple(float(check_float(f"aspect_ratios[{i}]", r, 1.0, 10.0)) for i, r in enumerate(self.aspect_ratios))
        object.__setattr__(self, "aspect_ratios", ratios)
        object.__setattr__(self, "min_ratio", float(check_float("min_ratio", self.min_ratio, 0.01, 1.0)))
        object.__setattr__(self, "max_ratio", float(check_float("max_ratio", self.max_ratio, self.min_ratio, 1.0)))
        check_choice("kernel", self.kernel, (3, 5))
        check_choice("act", self.act, ACTIVATIONS)

    @property
    def anchors_per_location(self) -> int:
        return 2 + 2 * len(self.aspect_ratios)

    def scales(self, levels: int) -> tuple[float, ...]:
        """Box scale per map (fractions of the image side), plus 1.0 for the last map's second square box."""
        if levels == 1:
            return (self.min_ratio, self.max_ratio)
        span = self.max_ratio - self.min_ratio
        return (*(self.min_ratio + span * k / (levels - 1.0) for k in range(levels)), 1.0)


@dataclass(frozen=True, kw_only=True)
class YOLOXHeadSpec:
    """YOLOX's decoupled head: per level a 1x1 conv + BN + act to ``width``, then two branches of ``convs``
    kxk convs (depthwise-separable when ``depthwise``) each + BN + act; the class branch ends in a 1x1 conv to
    the classes, the box branch in 1x1 convs to 4 box values and 1 objectness (all with bias). One prediction
    per location (anchor-free): centre = (offset + cell) x stride, size = exp(value) x stride."""

    kind: ClassVar[str] = "yolox"

    width: int = 64
    convs: int = 2
    kernel: int = 3
    depthwise: bool = True
    act: str = "swish"

    def __post_init__(self) -> None:
        check_int("width", self.width, 8, MAX_CHANNELS)
        check_int("convs", self.convs, 0, 8)
        check_choice("kernel", self.kernel, (3, 5))
        check_bool("depthwise", self.depthwise)
        check_choice("act", self.act, ACTIVATIONS)


HeadKind = SSDLiteHeadSpec | YOLOXHeadSpec
HEAD_KINDS: dict[str, type[HeadKind]] = {cls.kind: cls for cls in (SSDLiteHeadSpec, YOLOXHeadSpec)}


@dataclass(frozen=True, kw_only=True)
class DetectorSpec:
    """A whole detector. ``feature_strides``: the backbone maps the neck reads (the last stage at each stride).
    ``last_conv``: apply the backbone head's 1x1 conv + BN + act (``head.conv_chs``) to the stride-32 map.
    ``num_classes`` counts what the head predicts: for ``ssdlite`` it includes the background (index 0, as in
    torchvision), for ``yolox`` it does not. ``resolution`` must equal the backbone's."""

    backbone: ArchSpec
    head: HeadKind
    neck: NeckSpec = field(default_factory=NeckSpec)
    feature_strides: tuple[int, ...] = (8, 16, 32)
    last_conv: bool = False
    num_classes: int = 80
    resolution: int = 320
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.backbone, ArchSpec):
            raise SpecError("backbone", "must be an architecture spec")
        if not isinstance(self.head, tuple(HEAD_KINDS.values())):
            raise SpecError("head", f"must be a detection head spec ({', '.join(HEAD_KINDS)})")
        if not isinstance(self.neck, NeckSpec):
            raise SpecError("neck", "must be a neck spec")
        if self.feature_strides not in FEATURE_STRIDES:
            raise SpecError("feature_strides", f"must be one of {', '.join(map(str, FEATURE_STRIDES))}")
        check_bool("last_conv", self.last_conv)
        check_int("num_classes", self.num_classes, 2 if self.head.kind == "ssdlite" else 1, MAX_CLASSES)
        check_int("resolution", self.resolution, 32, 2048)
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise SpecError("name", "must be at most 64 letters, digits, '_', '.' or '-', not starting with '__'")
        if self.backbone.resolution != self.resolution:
            raise SpecError("backbone.resolution", f"must equal the detector's resolution {self.resolution}")
        try:
            self.backbone.feature_stages()  # the builder's feature maps: strides 8, 16 and 32
        except SpecError as err:
            raise err.within("backbone") from None
        if self.last_conv and not self.backbone.head.conv_chs:
            raise SpecError("last_conv", "the backbone's head has no conv (head.conv_chs is 0)")
        if self.neck.kind == "pan_lite":
            sizes = self.map_sizes()
            if any(-(-s // 2) != s2 for s, s2 in itertools.pairwise(sizes)):  # a stride-2 conv's ceil(s / 2)
                raise SpecError("neck.kind", "pan_lite needs each map to be half the size of the one before")

    @property
    def levels(self) -> int:
        """Maps the head predicts on: the backbone (or neck) maps, then SSDLite's extra layers."""
        extra = len(self.head.extra_chs) if isinstance(self.head, SSDLiteHeadSpec) else 0
        return len(self.feature_strides) + extra

    @property
    def object_classes(self) -> int:
        """Classes of objects (the background excluded)."""
        return self.num_classes - 1 if self.head.kind == "ssdlite" else self.num_classes

    def map_sizes(self) -> tuple[int, ...]:
        """Side of each backbone map the neck reads (the input is square)."""
        parts = count(self.backbone, features=True).parts
        return tuple(parts[i + 1].out_size[0] for i in self.backbone.feature_stages(self.feature_strides))

    # --- serialisation -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        data.update({k: v for k, v in to_dict(self).items() if k not in ("backbone", "neck", "head")})
        data["backbone"] = self.backbone.to_dict()
        data["neck"] = to_dict(self.neck)
        data["head"] = {"kind": self.head.kind, **to_dict(self.head)}
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> DetectorSpec:
        if not isinstance(data, dict):
            raise SpecError("spec", f"must be a JSON object, got {type(data).__name__}")
        fields = dict(data)
        version = fields.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise SpecError("schema_version", f"must be {SCHEMA_VERSION}, got {version!r:.40}")
        for name in ("backbone", "head"):
            if name not in fields:
                raise SpecError(name, "is required")
        try:
            fields["backbone"] = ArchSpec.from_dict(fields["backbone"])
        except SpecError as err:
            raise err.within("backbone") from None
        fields["neck"] = from_dict(NeckSpec, fields.get("neck", {}), "neck")
        head = fields["head"]
        if not isinstance(head, dict):
            raise SpecError("head", "must be a JSON object with a 'kind'")
        head = dict(head)
        kind = head.pop("kind", None)
        if not isinstance(kind, str) or kind not in HEAD_KINDS:
            raise SpecError("head.kind", f"must be one of {', '.join(HEAD_KINDS)}; got {kind!r:.60}")
        fields["head"] = from_dict(HEAD_KINDS[kind], head, "head")
        return from_dict(cls, fields)

    @classmethod
    def from_json(cls, text: str | bytes) -> DetectorSpec:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise SpecError("spec", f"is not valid JSON: {err}") from None
        return cls.from_dict(data)

    def to_string(self) -> str:
        """One line that round-trips exactly: ``det:... neck:... <head kind>:... arch:... stem:... ...``."""
        top = replace(_TOP_DEFAULT, **{k: getattr(self, k) for k in _TOP_FIELDS})
        tokens = [to_token(top, "det"), to_token(self.neck, "neck"), to_token(self.head, self.head.kind)]
        return " ".join([*tokens, self.backbone.to_string()])

    @classmethod
    def from_string(cls, line: str) -> DetectorSpec:
        tokens = line.split(" ", 3)
        if len(tokens) < 4 or not tokens[0].startswith("det:") or not tokens[1].startswith("neck:"):
            raise SpecError("spec", "expected 'det:... neck:... <head kind>:... arch:...'")
        kind, _, head_fields = tokens[2].partition(":")
        if kind not in HEAD_KINDS:
            raise SpecError("head.kind", f"must be one of {', '.join(HEAD_KINDS)}; got {kind[:60]!r}")
        top = from_token(_TopFields, tokens[0][4:])
        neck = from_token(NeckSpec, tokens[1][5:], "neck")
        head = from_token(HEAD_KINDS[kind], head_fields, "head")
        try:
            backbone = ArchSpec.from_string(tokens[3])
        except SpecError as err:
            raise err.within("backbone") from None
        return cls(backbone=backbone, neck=neck, head=head, **{k: getattr(top, k) for k in _TOP_FIELDS})

    def __str__(self) -> str:
        return self.to_string()


@dataclass(frozen=True, kw_only=True)
class _TopFields:
    """The scalar fields of DetectorSpec, for the one-line form."""

    feature_strides: tuple[int, ...] = (8, 16, 32)
    last_conv: bool = False
    num_classes: int = 80
    resolution: int = 320
    name: str = ""


_TOP_FIELDS = tuple(_TopFields.__dataclass_fields__)
_TOP_DEFAULT = _TopFields()
