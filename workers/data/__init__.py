"""Datasets: configuration and validation, the built-in digits and shapes, ImageFolder and CIFAR-10 directories read
safely, seeded stratified splits (with a held-out test split no search sees), and shipment of scanned data to Ray nodes."""

from __future__ import annotations

from workers.data.dataset import DatasetConfig, clear_cache, shipment
from workers.data.errors import DatasetError
from workers.data.formats import BUILT_IN
from workers.data.shipment import Shipment, adopt, adopted
from workers.data.split import DatasetInfo, SplitData, held_out_test, stratified_split, stratified_subset

__all__ = [
    "BUILT_IN",
    "DatasetConfig",
    "DatasetError",
    "DatasetInfo",
    "Shipment",
    "SplitData",
    "adopt",
    "adopted",
    "clear_cache",
    "held_out_test",
    "shipment",
    "stratified_split",
    "stratified_subset",
]
