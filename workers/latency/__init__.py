"""Latency: the plain benchmark loop that defines it (``plain``), measurement on this machine (CPU lock, held heap,
reference level), device profiling (timing parts and networks, fitting the correction), prediction from a
profile, int8 quantization (``quantize``), and measurements stored against a service's architecture
(``record``, ``remote``)."""

from __future__ import annotations

from workers.latency import cpu_lock
from workers.latency.config import LatencyConfig
from workers.latency.correction import fitted
from workers.latency.measure import REFERENCES, DeviceInfo, LatencyResult, cpu_model, measure_latency
from workers.latency.measure_cli import add_measure_flags, measure_command
from workers.latency.plain import (
    PlainLatency,
    PlainLoop,
    as_result,
    onnx_session,
    time_module,
    time_onnx,
    time_spec,
    time_specs_fresh,
)
from workers.latency.prediction import file_profile_id, predictor_for
from workers.latency.profile import calibrate, partial_path, sample_specs, time_profile
from workers.latency.profile_cli import add_profile_flags, profile_command
from workers.latency.quantize import CALIBRATION_IMAGES, quantize
from workers.latency.record import LatencyMeasurement, from_figure
from workers.latency.remote import measure_stored
from workers.latency.timing import Timer, Timing, time_networks

__all__ = [
    "CALIBRATION_IMAGES",
    "REFERENCES",
    "DeviceInfo",
    "LatencyConfig",
    "LatencyMeasurement",
    "LatencyResult",
    "PlainLatency",
    "PlainLoop",
    "Timer",
    "Timing",
    "add_measure_flags",
    "add_profile_flags",
    "as_result",
    "calibrate",
    "cpu_lock",
    "cpu_model",
    "file_profile_id",
    "fitted",
    "from_figure",
    "measure_command",
    "measure_latency",
    "measure_stored",
    "onnx_session",
    "partial_path",
    "predictor_for",
    "profile_command",
    "quantize",
    "sample_specs",
    "time_module",
    "time_networks",
    "time_onnx",
    "time_profile",
    "time_spec",
    "time_specs_fresh",
]
