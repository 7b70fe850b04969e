"""The weight-sharing supernet of a search space: every ArchSpec the space can sample is a sub-network.

Per stage, per layer position up to the deepest choice, one elastic branch per block kind (MBConv, Ghost,
micro-block; ``searchspace.supernet.branches``). ``set_active(spec)`` checks that ``spec`` is a point of the
space and configures the first ``repeats`` layers of each stage with the exact module arguments the builder
gives that spec's blocks; ``forward`` runs that path. Elastic: kind, kernel (Once-for-All's transformed centre
crop), expansion and width (the first channels), SE ratio (for the micro-block: Dynamic Shift-Max on/off),
activation, depth (the first layers) and resolution (the network is convolutional up to the global pool; the
caller feeds images at ``active.resolution``). The stem and head are the space's fixed ones; the head's input
is sliced to the last stage's width.

``extract(spec)`` returns ``spec`` and the state dict of ``searchspace.build(spec)`` filled with the inherited
weights: the built network then computes what the supernet's active path computes.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from searchspace.assembly import stem_plan
from searchspace.nn.context import BuildContext
from searchspace.space import SearchSpace, StageSpace, stage_block, stage_out_chs, stem_and_head
from searchspace.spec import ArchSpec, HeadSpec
from searchspace.supernet.branches import branch_for
from searchspace.supernet.choices import check_member, extreme_subnet
from searchspace.supernet.ops import ConvNorm, SlicedConv, State, prefixed


class ElasticHead(nn.Module):
    """The space's head (1x1 conv + BN + act when ``conv_chs``, global pool, dropout, linear classifier) taking
    the first ``in_chs`` channels of its widest input."""

    def __init__(self, max_in: int, spec: HeadSpec, num_classes: int, ctx: BuildContext) -> None:
        super().__init__()
        if spec.classifier != "linear" or spec.hidden or spec.classifier_norm:
            raise ValueError("the supernet's head is a conv + linear classifier head")
        features = spec.conv_chs or max_in
        self.conv = (
            ConvNorm(SlicedConv(max_in, spec.conv_chs), spec.conv_chs, **ctx.norm_args()) if spec.conv_chs else None
        )
        self.act = spec.act
        self.dropout = nn.Dropout(spec.dropout)
        self.classifier = nn.Linear(features, num_classes)
        self.in_chs = max_in

    def configure(self, in_chs: int) -> None:
        self.in_chs = in_chs
        if self.conv is not None:
            self.conv.configure(in_chs, self.conv.bn.num_features, act=self.act)

    def _classifier(self) -> State:
        w = self.classifier.weight if self.conv is not None else self.classifier.weight[:, : self.in_chs]
        return {"classifier.weight": w, "classifier.bias": self.classifier.bias}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv is not None:
            x = self.conv(x)
        w = self._classifier()
        return F.linear(self.dropout(x.mean((2, 3))), w["classifier.weight"], w["classifier.bias"])

    def state(self) -> State:
        conv = prefixed("conv", self.conv.state()) if self.conv is not None else {}
        return conv | self._classifier()


def _layer_configs(
    st: StageSpace, kind: str, in_options: tuple[int, ...], stride: int, ctx: BuildContext
) -> list[dict]:
    """Module arguments of every block of ``kind`` the layer can hold (largest kernel, first activation)."""
    layer, configs = replace(st, stride=stride), []
    for in_chs, width, expansion, se_ratio in itertools.product(
        in_options, st.width_factors, st.expansions, st.se_ratios
    ):
        block = stage_block(
            layer, kind=kind, width=width, kernel=max(st.kernels), expansion=expansion, se_ratio=se_ratio,
            act=st.acts[0],
        )
        configs.append(block.module_args(in_chs, ctx))
    return configs


class Supernet(nn.Module):
    """See the module docstring. ``space``: the search space; ``bn_eps``/``bn_momentum`` of every batch norm."""

    def __init__(self, space: SearchSpace, bn_eps: float = 1e-5, bn_momentum: float = 0.1) -> None:
        super().__init__()
        self.space = space
        self.ctx = BuildContext(bn_eps, bn_momentum)
        stem, head = stem_and_head(space)
        self.stem = stem_plan(stem, space.in_chans, self.ctx).build()
        self.stages = nn.ModuleList()
        in_options: tuple[int, ...] = (stem.out_chs,)
        for st in space.stages:
            outs = tuple(sorted({stage_out_chs(st, w) for w in st.width_factors}))
            layers = nn.ModuleList()
            for i in range(max(st.repeat_options)):
                stride, ins = (st.stride, in_options) if i == 0 else (1, outs)
                branches = {
                    kind: branch_for(kind, _layer_configs(st, kind, ins, stride, self.ctx), st.kernels,
                                     self.ctx.norm_args())
                    for kind in st.kinds
                }
                layers.append(nn.ModuleDict(branches))
            self.stages.append(layers)
            in_options = outs
        self.head = ElasticHead(max(in_options), head, space.num_classes, self.ctx)
        self.path: list[nn.Module] = []
        self.active: ArchSpec | None = None
        self.set_active(extreme_subnet(space, largest=True, rng=random.Random(0)))

    def set_active(self, spec: ArchSpec) -> None:
        """Make ``spec`` (a point of the space; SpecError naming the field otherwise) the path ``forward`` runs."""
        check_member(self.space, spec)
        path: list[nn.Module] = []
        for layer in spec.layers():
            branch = self.stages[layer.stage][layer.index][layer.spec.kind]
            branch.configure(layer.spec.module_args(layer.in_chs, self.ctx))
            path.append(branch)
        self.head.configure(spec.stages[-1].block.out_chs)
        self.path, self.active = path, spec

    def regularise(self, on: bool) -> None:
        """Turn the head's dropout (the space's rate) on or off for the following forward passes in training
        (BigNAS regularises only the largest sub-network)."""
        self.head.dropout.p = self.space.dropout if on else 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for branch in self.path:
            x = branch(x)
        return self.head(x)

    def extract(self, spec: ArchSpec | None = None) -> tuple[ArchSpec, State]:
        """``spec`` (default: the active one) as an ordinary ArchSpec with the bn settings of the supernet, and
        the state dict of its built network holding the inherited weights (detached copies)."""
        if spec is not None:
            self.set_active(spec)
        active = self.active
        if active is None:
            raise ValueError("no sub-network is active")
        out = replace(active, bn_eps=self.ctx.bn_eps, bn_momentum=self.ctx.bn_momentum)
        state = prefixed("stem", self.stem.state_dict())
        for layer, branch in zip(active.layers(), self.path, strict=True):
            state |= prefixed(f"stages.{layer.stage}.{layer.index}", branch.state())
        state |= prefixed("head", self.head.state())
        with torch.no_grad():
            return out, {key: value.detach().clone() for key, value in state.items()}
