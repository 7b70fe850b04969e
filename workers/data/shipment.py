"""Data packed once for Ray's object store, for nodes that cannot read the directory, and the shipments this process serves from."""

from __future__ import annotations

from dataclasses import dataclass

from workers.data.scan import Raw


@dataclass(frozen=True, eq=False)
class Shipment:
    """A directory's scanned data as the driver saw it, for nodes that cannot read the directory."""

    source: str
    signature: int
    raw: Raw

    @property
    def nbytes(self) -> int:
        return (0 if self.raw.images is None else self.raw.images.nbytes) + sum(map(len, self.raw.blobs))


ADOPTED: dict[str, Shipment] = {}  # source -> the shipment this worker serves it from


def adopted(source: str, signature: int) -> bool:
    """Whether this process already serves ``source`` from that shipment."""
    held = ADOPTED.get(source)
    return held is not None and held.signature == signature


def adopt(shipped: Shipment) -> None:
    """Serve ``shipped.source`` from the shipment from now on, in this process (a Ray worker)."""
    ADOPTED[shipped.source] = shipped
