"""Analytic cost accounting: parameters and multiply-adds of convolutions and linear layers.

A ``Tally`` follows a tensor's shape (channels, height, width) through a network described layer by layer and
adds up parameters (weights, biases, norm affine terms) and MACs (conv and linear multiply-adds only: the
papers' convention, see shared/reference/ARCHITECTURES.md). No module is built and no tensor is touched.
"""

from __future__ import annotations

from dataclasses import dataclass


def conv_out(size: int, kernel: int, stride: int, padding: int, ceil: bool = False) -> int:
    """Output length of a convolution or pooling window along one axis (PyTorch's formula)."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    return out


@dataclass
class Tally:
    chs: int
    h: int
    w: int
    params: int = 0
    macs: int = 0

    def fork(self) -> Tally:
        """A zero-cost tally at the current shape, for a parallel branch."""
        return Tally(self.chs, self.h, self.w)

    def merge(self, branch: Tally) -> Tally:
        """Add a branch's costs (its shape is the caller's business)."""
        self.params += branch.params
        self.macs += branch.macs
        return self

    def conv(
        self,
        out_chs: int,
        kernel: int | tuple[int, int] = 1,
        stride: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = False,
        padding: int | tuple[int, int] | None = None,
    ) -> Tally:
        kh, kw = (kernel, kernel) if type(kernel) is int else kernel
        sh, sw = (stride, stride) if type(stride) is int else stride
        if padding is None:
            ph, pw = kh // 2, kw // 2
        else:
            ph, pw = (padding, padding) if type(padding) is int else padding
        self.h = (self.h + 2 * ph - kh) // sh + 1
        self.w = (self.w + 2 * pw - kw) // sw + 1
        weights = out_chs * (self.chs // groups) * kh * kw
        self.params += weights + (out_chs if bias else 0)
        self.macs += weights * self.h * self.w
        self.chs = out_chs
        return self

    def norm(self) -> Tally:
        """Batch norm: a scale and a shift per channel (running stats are buffers, not parameters)."""
        self.params += 2 * self.chs
        return self

    def linear(self, out_features: int, bias: bool = True) -> Tally:
        self.params += self.chs * out_features + (out_features if bias else 0)
        self.macs += self.chs * out_features
        self.chs = out_features
        return self

    def pool(self, kernel: int, stride: int, padding: int = 0, ceil: bool = False) -> Tally:
        self.h = conv_out(self.h, kernel, stride, padding, ceil)
        self.w = conv_out(self.w, kernel, stride, padding, ceil)
        return self

    def global_pool(self) -> Tally:
        self.h = self.w = 1
        return self
