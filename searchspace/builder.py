"""Build a torch module from an ArchSpec."""

from __future__ import annotations

from typing import TYPE_CHECKING

from searchspace.spec import ArchSpec

if TYPE_CHECKING:
    from torch import nn


def build(spec: ArchSpec, features: bool = False) -> nn.Module:
    """The network for ``spec``: logits out, or with ``features=True`` the maps at strides 8, 16 and 32."""
    from searchspace.assembly import network_plan

    return network_plan(spec, features=features).build()
