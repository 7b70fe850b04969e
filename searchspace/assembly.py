"""An ArchSpec as a ``Call`` tree of nn modules with plain constructor arguments (stem, stages, head).

The builder instantiates the tree and the exporter writes the same tree out as standalone source. This is the
one place that reads specs and names modules: ``searchspace.nn`` knows nothing of specs.
"""

from __future__ import annotations

from torch import nn

from searchspace.blocks.base import BlockSpec
from searchspace.nn.context import BuildContext
from searchspace.nn.layers import ConvNormAct
from searchspace.nn.network import ConvHead, FeatureNetwork, Head, Network, SepStem, Stem
from searchspace.nn.plan import Arg, Call
from searchspace.spec import ArchSpec, HeadSpec, StemSpec


def _norm(ctx: BuildContext) -> dict[str, float]:
    return {"bn_eps": ctx.bn_eps, "bn_momentum": ctx.bn_momentum}


def stem_plan(spec: StemSpec, in_chs: int, ctx: BuildContext) -> Call:
    if spec.kind == "sep":
        first, mult = spec.groups
        args = {
            "in_chs": in_chs,
            "mid_chs": first,
            "out_chs": first * mult,
            "kernel": spec.kernel,
            "stride": spec.stride,
            "padding": spec.pad,
            "act": spec.act,
            **_norm(ctx),
        }
        conv = Call(SepStem, args)
    else:
        args = {
            "in_chs": in_chs,
            "out_chs": spec.out_chs,
            "kernel": spec.kernel,
            "stride": spec.stride,
            "act": spec.act,
            "norm": spec.norm,
            "bias": spec.bias,
            "padding": None if spec.padding == "same" else spec.pad,
            **_norm(ctx),
        }
        conv = Call(ConvNormAct, args)
    if spec.pool == "none":
        return Call(Stem, {"conv": conv})
    ceil = spec.pool == "max_ceil"
    pool = Call(nn.MaxPool2d, {"kernel_size": 3, "stride": 2, "padding": 0 if ceil else 1, "ceil_mode": ceil})
    return Call(Stem, {"conv": conv, "pool": pool})


def head_plan(spec: HeadSpec, in_chs: int, num_classes: int, ctx: BuildContext) -> Call:
    args = {"in_chs": in_chs, "num_classes": Arg("num_classes", num_classes)}
    if spec.conv_chs:
        args.update(conv_chs=spec.conv_chs, act=spec.act)
    if spec.classifier == "conv":
        return Call(ConvHead, {**args, "dropout": spec.dropout, "bias": spec.classifier_bias, **_norm(ctx)})
    if spec.hidden:
        args.update(
            hidden=spec.hidden,
            hidden_norm=spec.hidden_norm,
            hidden_bias=spec.hidden_bias,
            hidden_act=spec.hidden_act,
        )
    args.update(
        dropout=spec.dropout,
        bias=spec.classifier_bias,
        pre_pool_act=spec.pre_pool_act,
        pool_act=spec.pool_act,
        classifier_norm=spec.classifier_norm,
        classifier_act=spec.classifier_act,
    )
    return Call(Head, {**args, **_norm(ctx)})


def block_plan(block: BlockSpec, in_chs: int, ctx: BuildContext) -> Call:
    """The block's module class with its plain arguments; kinds that cannot say so are built by their spec."""
    try:
        return Call(block.module_class(), block.module_args(in_chs, ctx))
    except NotImplementedError:
        return Call(block.build, {"in_chs": in_chs, "ctx": ctx})


def network_plan(spec: ArchSpec, features: bool = False) -> Call:
    """The whole network as a ``Call`` tree; ``features=True`` stops at the last stride-32 stage, no head."""
    ctx = BuildContext(spec.bn_eps, spec.bn_momentum)
    feature_stages = spec.feature_stages() if features else []
    last = feature_stages[-1] if features else len(spec.stages) - 1
    stages: list[list[Call]] = [[] for _ in spec.stages[: last + 1]]
    total = spec.num_blocks
    for n, layer in enumerate(spec.layers()):
        if layer.stage <= last:
            block_ctx = BuildContext(spec.bn_eps, spec.bn_momentum, round(spec.drop_path_rate * n / total, 6))
            stages[layer.stage].append(block_plan(layer.spec, layer.in_chs, block_ctx))
    stem = stem_plan(spec.stem, spec.in_chans, ctx)
    if features:
        return Call(FeatureNetwork, {"stem": stem, "stages": stages, "out_indices": tuple(feature_stages)})
    head = head_plan(spec.head, spec.stages[-1].block.out_chs, spec.num_classes, ctx)
    return Call(Network, {"stem": stem, "stages": stages, "head": head})
