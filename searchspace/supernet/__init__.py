"""A weight-sharing supernet over the MBConv / Ghost / micro-block search space (Once-for-All, BigNAS): elastic
modules built from the same block specs, a sub-network per ArchSpec of the space, extracted as an ordinary
ArchSpec plus the state dict of its built network."""

from __future__ import annotations

from searchspace.supernet.choices import check_member, extreme_subnet, random_subnet
from searchspace.supernet.network import Supernet

__all__ = ["Supernet", "check_member", "extreme_subnet", "random_subnet"]
