"""Detection heads: SSDLite (default boxes, extra layers, depthwise-separable predictors) and YOLOX
(decoupled, anchor-free). Each returns, per map, class logits (batch, locations x boxes, K) and box values
(batch, locations x boxes, 4), in the order of the decoders' priors."""

from __future__ import annotations

import math

import torch
from torch import nn

from searchspace.nn.ds import DepthwiseSeparable
from searchspace.nn.layers import ConvNormAct


def flatten_level(x: torch.Tensor, k: int) -> torch.Tensor:
    """(batch, boxes x k, h, w) -> (batch, h x w x boxes, k): row-major locations, the boxes of one inside."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, k)


def ssd_predictor(
    in_chs: int, out_chs: int, kernel: int, act: str, bn_eps: float, bn_momentum: float
) -> nn.Module:
    """SSDLite's predictor: kxk depthwise conv + BN + act, then a 1x1 conv with bias."""
    dw = ConvNormAct(in_chs, in_chs, kernel, groups=in_chs, act=act, bn_eps=bn_eps, bn_momentum=bn_momentum)
    return nn.Sequential(dw, nn.Conv2d(in_chs, out_chs, 1))


def ssd_extra(in_chs: int, out_chs: int, act: str, bn_eps: float, bn_momentum: float) -> nn.Module:
    """SSDLite's extra layer: 1x1 conv to half, 3x3 depthwise stride 2, 1x1 conv to ``out_chs`` (BN, act)."""
    mid = out_chs // 2
    norm = {"act": act, "bn_eps": bn_eps, "bn_momentum": bn_momentum}
    return nn.Sequential(
        ConvNormAct(in_chs, mid, **norm),
        ConvNormAct(mid, mid, 3, 2, groups=mid, **norm),
        ConvNormAct(mid, out_chs, **norm),
    )


class SSDLiteHead(nn.Module):
    """Extra layers after the last map, then per map (given and extra) class and box predictors; convs are
    initialised N(0, 0.03) with zero bias, as torchvision's SSDLite. Class logits are softmax logits over
    ``num_classes`` (background first)."""

    def __init__(
        self,
        in_chs: tuple[int, ...],
        extra_chs: tuple[int, ...],
        num_anchors: int,
        num_classes: int,
        kernel: int = 3,
        act: str = "relu6",
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        chs = [in_chs[-1], *extra_chs]
        self.extras = nn.ModuleList(
            [ssd_extra(c, o, act, bn_eps, bn_momentum) for c, o in zip(chs, extra_chs)]
        )
        levels = [*in_chs, *extra_chs]
        self.cls_preds = nn.ModuleList(
            [ssd_predictor(c, num_anchors * num_classes, kernel, act, bn_eps, bn_momentum) for c in levels]
        )
        self.box_preds = nn.ModuleList(
            [ssd_predictor(c, num_anchors * 4, kernel, act, bn_eps, bn_momentum) for c in levels]
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0.0, 0.03)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, maps: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        maps = list(maps)
        x = maps[-1]
        for extra in self.extras:
            x = extra(x)
            maps.append(x)
        logits = [flatten_level(pred(x), self.num_classes) for pred, x in zip(self.cls_preds, maps)]
        boxes = [flatten_level(pred(x), 4) for pred, x in zip(self.box_preds, maps)]
        return logits, boxes


def yolox_branch(
    width: int, convs: int, kernel: int, depthwise: bool, act: str, bn_eps: float, bn_momentum: float
) -> nn.Module:
    """``convs`` kxk convs at ``width``: depthwise-separable (YOLOX's DWConv) or plain, each + BN + act."""
    norm = {"act": act, "bn_eps": bn_eps, "bn_momentum": bn_momentum}
    if depthwise:
        return nn.Sequential(*[DepthwiseSeparable(width, width, kernel, **norm) for _ in range(convs)])
    return nn.Sequential(*[ConvNormAct(width, width, kernel, **norm) for _ in range(convs)])


class YOLOXHead(nn.Module):
    """Per map: 1x1 stem conv to ``width``, a class branch and a box branch, 1x1 predictors with bias (class
    and objectness biases start at the logit of 0.01, as YOLOX's). Class logits are per-class sigmoid logits
    followed by the objectness logit (K = num_classes + 1)."""

    def __init__(
        self,
        in_chs: tuple[int, ...],
        width: int,
        num_classes: int,
        convs: int = 2,
        kernel: int = 3,
        depthwise: bool = True,
        act: str = "swish",
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.stems = nn.ModuleList([ConvNormAct(c, width, act=act, **norm) for c in in_chs])
        self.cls_convs = nn.ModuleList(
            [yolox_branch(width, convs, kernel, depthwise, act, **norm) for _ in in_chs]
        )
        self.reg_convs = nn.ModuleList(
            [yolox_branch(width, convs, kernel, depthwise, act, **norm) for _ in in_chs]
        )
        self.cls_preds = nn.ModuleList([nn.Conv2d(width, num_classes, 1) for _ in in_chs])
        self.reg_preds = nn.ModuleList([nn.Conv2d(width, 4, 1) for _ in in_chs])
        self.obj_preds = nn.ModuleList([nn.Conv2d(width, 1, 1) for _ in in_chs])
        prior = -math.log((1 - 0.01) / 0.01)
        for conv in [*self.cls_preds, *self.obj_preds]:
            nn.init.constant_(conv.bias, prior)

    def forward(self, maps: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        logits, boxes = [], []
        parts = zip(
            maps, self.stems, self.cls_convs, self.reg_convs, self.cls_preds, self.reg_preds, self.obj_preds
        )
        for x, stem, cls_convs, reg_convs, cls_pred, reg_pred, obj_pred in parts:
            x = stem(x)
            cls_x = cls_convs(x)
            reg_x = reg_convs(x)
            logits.append(
                flatten_level(torch.cat([cls_pred(cls_x), obj_pred(reg_x)], 1), self.num_classes + 1)
            )
            boxes.append(flatten_level(reg_pred(reg_x), 4))
        return logits, boxes
