"""Datasets: configuration and validation, the built-in digits and shapes, ImageFolder and CIFAR-10 directories read
safely, seeded stratified splits (with a held-out test split no search sees), and shipment of scanned data to Ray nodes."""

from __future__ import annotations

from workers.data.dataset import DatasetConfig, clear_cache, shipment
from workers.data.errors import DatasetError
from workers.data.formats import BOX_BUILT_IN, BUILT_IN, IMAGE_EXTENSIONS
from workers.data.nested import nested_from_dict
from workers.data.safety import Limits, Scope, image_files, open_image, open_regular
from workers.data.shipment import Shipment, adopt, adopted
from workers.data.split import DatasetInfo, SplitData, held_out_test, stratified_split, stratified_subset

__all__ = [
    "BOX_BUILT_IN",
    "BUILT_IN",
    "IMAGE_EXTENSIONS",
    "DatasetConfig",
    "DatasetError",
    "DatasetInfo",
    "Limits",
    "Scope",
    "Shipment",
    "SplitData",
    "adopt",
    "adopted",
    "clear_cache",
    "held_out_test",
    "image_files",
    "nested_from_dict",
    "open_image",
    "open_regular",
    "shipment",
    "stratified_split",
    "stratified_subset",
]
