"""The dataset checks of submission, run again when a driver starts a job: a directory can change while its job
waits in the queue (swapped for a link out of the data root, a FIFO or a device put where an image was)."""

from __future__ import annotations

import os
from pathlib import Path

from store.settings import Settings
from workers.data import BOX_BUILT_IN, BUILT_IN, DatasetConfig, DatasetError, clear_cache
from workers.detection import BoxDatasetConfig, clear_box_cache

AGAIN = "checked again when the job started"


def check_dataset_again(dataset: DatasetConfig | BoxDatasetConfig, settings: Settings) -> None:
    """DatasetError (its message ending in ``AGAIN``) unless ``dataset`` is still safe to read.

    The checks of submission (``api.datasets.checked_dataset``): the directory still resolves under
    NAS_DATA_ROOT, only regular files are read, no symlink leads out of the root, all within
    NAS_DATASET_CHECK_S. A driver without a data root checks the files but cannot confine them. The process's
    dataset caches are dropped first, so that neither this check nor the job's own reading is served from a scan
    of the directory as it was. A box dataset (a detection search's) has its annotations read and checked again.
    """
    if dataset.source in (*BUILT_IN, *BOX_BUILT_IN):
        return
    clear_cache()
    clear_box_cache()
    root = None if settings.data_root is None else os.path.realpath(settings.data_root)
    if root is not None and not Path(os.path.realpath(dataset.source)).is_relative_to(root):
        raise DatasetError(dataset.source, f"no longer resolves under the service's data root (NAS_DATA_ROOT); "
                                           f"{AGAIN}")
    try:
        if isinstance(dataset, BoxDatasetConfig):
            dataset.read(within=root, time_limit_s=settings.dataset_check_s)
        else:
            dataset.validate(within=root, time_limit_s=settings.dataset_check_s)
    except DatasetError as err:
        raise DatasetError(err.path, f"{err.message}; {AGAIN}") from None
