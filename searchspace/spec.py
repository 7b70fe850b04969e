"""The architecture spec: one frozen, validated, JSON-serialisable description of a whole network.

``ArchSpec`` = stem + stages (a block spec repeated) + head, plus input resolution, channels and classes. It is
the only thing that describes an architecture anywhere in the product: the builder, the counter, the search,
the scaler and the code exporter all take it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from searchspace.blocks import ACTIVATIONS, BLOCK_KINDS, BlockSpec
from searchspace.checks import check_bool, check_choice, check_float, check_int
from searchspace.codec import from_dict, from_token, to_dict, to_token
from searchspace.errors import SpecError
from searchspace.tally import Tally

SCHEMA_VERSION = 1
MAX_STAGES = 64
MAX_REPEATS = 64
MAX_CHANNELS = 8192
MAX_RESOLUTION = 2048
_NAME = re.compile(r"(?!__)[A-Za-z0-9_.-]{0,64}")  # no dunder names


@dataclass(frozen=True, kw_only=True)
class StemSpec:
    """First layer(s): a kxk conv (``kind='conv'``) or MicroNet's spatially separable kx1 + 1xk pair
    (``kind='sep'``, ``groups`` = (first conv's output channels, channel multiplier of the second)); then an
    optional 3x3 stride-2 max pool (``'max'`` padded, ``'max_ceil'`` unpadded with ceil mode)."""

    out_chs: int
    kind: str = "conv"
    kernel: int = 3
    stride: int = 2
    act: str = "relu"
    padding: str = "same"
    norm: bool = True
    bias: bool = False
    pool: str = "none"
    groups: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_int("out_chs", self.out_chs, 1, MAX_CHANNELS)
        check_choice("kind", self.kind, ("conv", "sep"))
        check_choice("kernel", self.kernel, (1, 3, 5, 7, 9, 11))
        check_choice("stride", self.stride, (1, 2, 4))
        check_choice("act", self.act, ACTIVATIONS)
        check_choice("padding", self.padding, ("same", "valid"))
        check_bool("norm", self.norm)
        check_bool("bias", self.bias)
        check_choice("pool", self.pool, ("none", "max", "max_ceil"))
        if not isinstance(self.groups, tuple):
            raise SpecError("groups", "must be a list of integers")
        if self.kind == "sep":
            if len(self.groups) != 2:
                raise SpecError("groups", "a 'sep' stem needs exactly two groups: [first_chs, multiplier]")
            for i, g in enumerate(self.groups):
                check_int(f"groups[{i}]", g, 1, 64)
            if self.groups[0] * self.groups[1] != self.out_chs:
                raise SpecError("groups", f"product must equal out_chs={self.out_chs}, got {self.groups}")
        elif self.groups:
            raise SpecError("groups", "only a 'sep' stem takes groups; use [] for a plain conv stem")

    @property
    def pad(self) -> int:
        return self.kernel // 2 if self.padding == "same" else 0

    def count(self, t: Tally) -> Tally:
        if self.kind == "sep":
            first, mult = self.groups
            t.conv(first, (self.kernel, 1), (self.stride, 1), padding=(self.pad, 0)).norm()
            t.conv(first * mult, (1, self.kernel), (1, self.stride), groups=first, padding=(0, self.pad)).norm()
        else:
            t.conv(self.out_chs, self.kernel, self.stride, bias=self.bias, padding=self.pad)
            if self.norm:
                t.norm()
        if self.pool == "max":
            t.pool(3, 2, 1)
        elif self.pool == "max_ceil":
            t.pool(3, 2, 0, ceil=True)
        return t

    @property
    def reduction(self) -> int:
        return self.stride * (1 if self.pool == "none" else 2)


@dataclass(frozen=True, kw_only=True)
class HeadSpec:
    """After the stages: optional 1x1 conv + BN + act (``conv_chs``), global pool, optional hidden linear
    (``hidden``, with optional BN1d and an activation), dropout, then the classifier. ``classifier='conv'``
    is SqueezeNet's: dropout, 1x1 conv with bias to the classes and ReLU before the pool. ``classifier_bias=False``
    drops the classifier's bias (ShuffleNetV1). ``pre_pool_act`` / ``pool_act`` act on the features just before and
    after the pool, ``classifier_norm`` / ``classifier_act`` add BN1d and an activation on the logits (MicroNet)."""

    conv_chs: int = 0
    act: str = "relu"
    hidden: int = 0
    hidden_norm: bool = False
    hidden_bias: bool = True
    hidden_act: str = "relu"
    dropout: float = 0.0
    classifier: str = "linear"
    classifier_bias: bool = True
    pre_pool_act: str = "none"
    pool_act: str = "none"
    classifier_norm: bool = False
    classifier_act: str = "none"

    def __post_init__(self) -> None:
        check_int("conv_chs", self.conv_chs, 0, MAX_CHANNELS)
        check_choice("act", self.act, ACTIVATIONS)
        check_int("hidden", self.hidden, 0, MAX_CHANNELS)
        check_bool("hidden_norm", self.hidden_norm)
        check_bool("hidden_bias", self.hidden_bias)
        check_choice("hidden_act", self.hidden_act, ACTIVATIONS)
        object.__setattr__(self, "dropout", float(check_float("dropout", self.dropout, 0.0, 0.95)))
        check_choice("classifier", self.classifier, ("linear", "conv"))
        check_bool("classifier_bias", self.classifier_bias)
        check_choice("pre_pool_act", self.pre_pool_act, ACTIVATIONS)
        check_choice("pool_act", self.pool_act, ACTIVATIONS)
        check_bool("classifier_norm", self.classifier_norm)
        check_choice("classifier_act", self.classifier_act, ACTIVATIONS)
        if self.classifier == "conv" and self.hidden:
            raise SpecError("hidden", "a conv classifier takes no hidden linear layer; set hidden to 0")
        if self.classifier == "conv":
            for name in ("pre_pool_act", "pool_act", "classifier_act"):
                if getattr(self, name) != "none":
                    raise SpecError(name, "only a linear classifier takes it; use 'none'")
            if self.classifier_norm:
                raise SpecError("classifier_norm", "only a linear classifier takes it; use false")

    def count(self, t: Tally, num_classes: int) -> Tally:
        if self.conv_chs:
            t.conv(self.conv_chs).norm()
        if self.classifier == "conv":
            return t.conv(num_classes, bias=self.classifier_bias).global_pool()
        t.global_pool()
        if self.hidden:
            t.linear(self.hidden, bias=self.hidden_bias)
            if self.hidden_norm:
                t.norm()
        t.linear(num_classes, bias=self.classifier_bias)
        return t.norm() if self.classifier_norm else t


@dataclass(frozen=True, kw_only=True)
class StageSpec:
    """``repeats`` copies of ``block``; only the first keeps the block's stride, the rest use stride 1."""

    block: BlockSpec
    repeats: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.block, BlockSpec):
            raise SpecError("block", f"must be a block spec, got {type(self.block).__name__}")
        check_int("repeats", self.repeats, 1, MAX_REPEATS)

    @functools.cached_property
    def rest(self) -> BlockSpec:
        """The block as repeated after the first (stride 1), built once per stage."""
        return replace(self.block, stride=1) if self.block.stride != 1 else self.block

    def blocks(self) -> Iterator[BlockSpec]:
        yield self.block
        for _ in range(self.repeats - 1):
            yield self.rest

    def to_dict(self) -> dict[str, Any]:
        return {"block": {"kind": self.block.kind, **to_dict(self.block)}, "repeats": self.repeats}

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> StageSpec:
        if not isinstance(data, dict):
            raise SpecError(path, "must be a JSON object with 'block' and 'repeats'")
        unknown = sorted(set(map(str, data)) - {"block", "repeats"})
        if unknown:
            raise SpecError(f"{path}.{unknown[0][:60]}", "unknown field; allowed fields: block, repeats")
        block = data.get("block")
        if not isinstance(block, dict):
            raise SpecError(f"{path}.block", "must be a JSON object with a 'kind'")
        fields = dict(block)
        kind = fields.pop("kind", None)
        if not isinstance(kind, str) or kind not in BLOCK_KINDS:
            raise SpecError(f"{path}.block.kind", f"must be one of {', '.join(BLOCK_KINDS)}; got {kind!r:.60}")
        spec = from_dict(BLOCK_KINDS[kind], fields, f"{path}.block")
        return from_dict(cls, {"block": spec, "repeats": data.get("repeats", 1)}, path)

    def to_token(self) -> str:
        token = to_token(self.block, self.block.kind)
        if self.repeats != 1:
            kind, _, rest = token.partition(":")
            token = f"{kind}:n={self.repeats}" + (f",{rest}" if rest else "")
        return token

    @classmethod
    def from_token(cls, token: str, path: str = "") -> StageSpec:
        kind, _, rest = token.partition(":")
        if kind not in BLOCK_KINDS:
            raise SpecError(f"{path}.block.kind", f"must be one of {', '.join(BLOCK_KINDS)}; got {kind[:60]!r}")
        parts = rest.split(",") if rest else []
        repeats = 1
        if parts and parts[0].startswith("n="):
            repeats = int(parts.pop(0)[2:]) if parts[0][2:].isdigit() else -1
        block = from_token(BLOCK_KINDS[kind], ",".join(parts), f"{path}.block")
        return from_dict(cls, {"block": block, "repeats": repeats}, path)


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One block instance in network order, with the channels it receives."""

    stage: int
    index: int
    spec: BlockSpec
    in_chs: int


@dataclass(frozen=True, kw_only=True)
class ArchSpec:
    """A whole network. See the module docstring."""

    stem: StemSpec
    stages: tuple[StageSpec, ...]
    head: HeadSpec
    resolution: int = 224
    in_chans: int = 3
    num_classes: int = 1000
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1
    drop_path_rate: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.stem, StemSpec):
            raise SpecError("stem", "must be a stem spec")
        if not isinstance(self.head, HeadSpec):
            raise SpecError("head", "must be a head spec")
        if not isinstance(self.stages, tuple) or not all(isinstance(s, StageSpec) for s in self.stages):
            raise SpecError("stages", "must be a list of stage specs")
        if not 1 <= len(self.stages) <= MAX_STAGES:
            raise SpecError("stages", f"must hold between 1 and {MAX_STAGES} stages, got {len(self.stages)}")
        check_int("resolution", self.resolution, 8, MAX_RESOLUTION)
        check_int("in_chans", self.in_chans, 1, 64)
        check_int("num_classes", self.num_classes, 1, 100_000)
        for name, lo, hi in (("bn_eps", 1e-12, 0.1), ("bn_momentum", 0.0, 1.0), ("drop_path_rate", 0.0, 0.9)):
            object.__setattr__(self, name, float(check_float(name, getattr(self, name), lo, hi)))
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise SpecError("name", "must be at most 64 letters, digits, '_', '.' or '-', not starting with '__'")
        if self.stem.padding == "valid" and self.resolution < self.stem.kernel:
            raise SpecError("resolution", f"must be at least the stem kernel ({self.stem.kernel}) with valid padding")
        for layer in self.layers():
            try:
                layer.spec.check_input(layer.in_chs)
            except SpecError as err:
                raise err.within(f"stages[{layer.stage}].block") from None

    def layers(self) -> Iterator[Layer]:
        """Every block instance in order, with its input channels."""
        chs = self.stem.out_chs
        for s, stage in enumerate(self.stages):
            for i, block in enumerate(stage.blocks()):
                yield Layer(stage=s, index=i, spec=block, in_chs=chs)
                chs = block.out_chs

    @property
    def num_blocks(self) -> int:
        return sum(stage.repeats for stage in self.stages)

    @property
    def num_features(self) -> int:
        """Channels entering the pooling/classifier part."""
        return self.head.conv_chs or self.stages[-1].block.out_chs

    def stage_reductions(self) -> list[int]:
        """Cumulative stride (input size / feature size) after each stage."""
        reduction, out = self.stem.reduction, []
        for stage in self.stages:
            reduction *= stage.block.stride
            out.append(reduction)
        return out

    def feature_stages(self, strides: tuple[int, ...] = (8, 16, 32)) -> list[int]:
        """Index of the last stage at each requested stride; SpecError if the network never reaches one."""
        reductions = self.stage_reductions()
        found = []
        for stride in strides:
            idx = [i for i, r in enumerate(reductions) if r == stride]
            if not idx:
                raise SpecError("stages", f"no stage has output stride {stride} (stage strides: {reductions})")
            found.append(idx[-1])
        return found

    # --- serialisation -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = {"schema_version": SCHEMA_VERSION}
        data.update({k: v for k, v in to_dict(self).items() if k not in ("stem", "stages", "head")})
        data["stem"] = to_dict(self.stem)
        data["stages"] = [stage.to_dict() for stage in self.stages]
        data["head"] = to_dict(self.head)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> ArchSpec:
        if not isinstance(data, dict):
            raise SpecError("spec", f"must be a JSON object, got {type(data).__name__}")
        fields = dict(data)
        version = fields.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise SpecError("schema_version", f"must be {SCHEMA_VERSION}, got {version!r:.40}")
        for name in ("stem", "stages", "head"):
            if name not in fields:
                raise SpecError(name, "is required")
        stages = fields["stages"]
        if not isinstance(stages, list) or not 1 <= len(stages) <= MAX_STAGES:
            raise SpecError("stages", f"must be a list of 1 to {MAX_STAGES} stages")
        fields["stem"] = from_dict(StemSpec, fields["stem"], "stem")
        fields["head"] = from_dict(HeadSpec, fields["head"], "head")
        fields["stages"] = tuple(StageSpec.from_dict(s, f"stages[{i}]") for i, s in enumerate(stages))
        return from_dict(cls, fields)

    @classmethod
    def from_json(cls, text: str | bytes) -> ArchSpec:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:  # also integers too long to convert
            raise SpecError("spec", f"is not valid JSON: {err}") from None
        return cls.from_dict(data)

    def to_string(self) -> str:
        """One line that round-trips exactly: ``arch:... stem:... <kind>:... head:...``."""
        top = replace(_TOP_DEFAULT, **{k: getattr(self, k) for k in _TOP_FIELDS})
        tokens = [to_token(top, "arch"), to_token(self.stem, "stem")]
        tokens += [stage.to_token() for stage in self.stages]
        tokens.append(to_token(self.head, "head"))
        return " ".join(tokens)

    @classmethod
    def from_string(cls, line: str) -> ArchSpec:
        tokens = line.split()
        if len(tokens) < 4 or not tokens[0].startswith("arch:") or not tokens[1].startswith("stem:"):
            raise SpecError("spec", "expected 'arch:... stem:... <stage>... head:...'")
        if not tokens[-1].startswith("head:"):
            raise SpecError("head", "the last token must start with 'head:'")
        if len(tokens) - 3 > MAX_STAGES:
            raise SpecError("stages", f"must hold between 1 and {MAX_STAGES} stages")
        top = from_token(_TopFields, tokens[0][5:])
        stem = from_token(StemSpec, tokens[1][5:], "stem")
        head = from_token(HeadSpec, tokens[-1][5:], "head")
        stages = tuple(StageSpec.from_token(t, f"stages[{i}]") for i, t in enumerate(tokens[2:-1]))
        return cls(stem=stem, stages=stages, head=head, **to_dict(top))

    def __str__(self) -> str:
        return self.to_string()


@dataclass(frozen=True, kw_only=True)
class _TopFields:
    """The scalar fields of ArchSpec, for the one-line form."""

    resolution: int = 224
    in_chans: int = 3
    num_classes: int = 1000
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1
    drop_path_rate: float = 0.0
    name: str = ""


_TOP_FIELDS = tuple(_TopFields.__dataclass_fields__)
_TOP_DEFAULT = _TopFields()
