"""A weight-sharing supernet over the MBConv / Ghost / micro-block search space (Once-for-All, BigNAS).

Every ArchSpec that ``searchspace.space`` can sample from a ``SearchSpace`` is a sub-network: per stage and layer
position one elastic branch per block kind, elastic in kernel (the largest kernel's centre crop through learned
transformation matrices), expansion and width (the first channels), SE ratio (micro-block: Dynamic Shift-Max on
or off), activation, depth (the first ``repeats`` layers of a stage) and resolution. ``Supernet.extract(spec)``
returns the spec and the state dict of ``searchspace.build(spec)`` holding the inherited weights; that network
computes what the supernet's active path computes.

Limits: the stem and head are the space's fixed ones; a block field the space does not search (Ghost ``ratio``
or ``dw_size``, micro-block ``groups``, ``dw_mult``, ``dsm``, ``reduction``, ...) must keep its default (a spec
that sets one is refused, naming the field); drop path is not applied. The micro-block needs no narrower choice
than the other kinds: its grouped 1x1 convs, whose group counts follow the channels, take their weights from
the block diagonal of one dense matrix per layer, so every group count shares weights over the first channels.
"""

from __future__ import annotations

from searchspace.supernet.choices import check_member, extreme_subnet, neighbour_subnet, random_subnet
from searchspace.supernet.network import Supernet

__all__ = ["Supernet", "check_member", "extreme_subnet", "neighbour_subnet", "random_subnet"]
