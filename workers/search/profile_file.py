"""A search configuration predicting latency from a device profile read from a file (``--profile``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from searchspace.errors import SpecError
from searchspace.latency_table import DeviceProfile, check_covers
from workers.latency import file_profile_id
from workers.search.config import SearchConfig


def load_profile_file(config: SearchConfig, path: str) -> tuple[SearchConfig, DeviceProfile]:
    """``config`` predicting latency from the profile in ``path`` (which must cover its space), and the profile."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise SpecError("--profile", f"cannot read {path!r}: {err}") from None
    profile = DeviceProfile.from_json(text)
    info = config.dataset.validate()
    config = config.with_data_shape(info.num_classes, info.in_chans)
    check_covers(config.space, profile, path, "--profile")
    return replace(config, latency=replace(config.latency, device=file_profile_id(profile))), profile
