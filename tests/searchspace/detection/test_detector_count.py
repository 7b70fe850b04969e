"""The analytic detector count against the built module (parameters) and fvcore (MACs), the zoo against the
reference implementations' exact sizes, and the forward and decoding shapes and values."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import pytest
import torch
from hypothesis import HealthCheck, given, settings

from searchspace.detection import DetectorSpec, build_detector, count_detector, zoo
from tests.searchspace.detection.strategies import detectors


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fvcore_macs(model: torch.nn.Module, spec: DetectorSpec) -> int:
    """fvcore's count with the papers' convention: batch norm, pooling and upsampling not counted."""
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    example = torch.zeros(1, spec.backbone.in_chans, spec.resolution, spec.resolution)
    fca = FlopCountAnalysis(model.eval(), example)
    zero = lambda i, o: 0
    fca.set_op_handle("aten::batch_norm", zero, "aten::adaptive_avg_pool2d", zero, "aten::upsample_nearest2d", zero)
    fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(fca.total())


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("name", "params"), [
    ("ssdlite320_mobilenet_v3_large", 3_440_060), ("ssdlite320_mobilenet_v3_large_10cls", 2_317_400),
])
def test_ssdlite_matches_torchvision_exactly(name: str, params: int) -> None:
    spec = zoo.get(name)
    ref = zoo.published()[name]
    assert (spec.num_classes, spec.resolution) == (ref["num_classes"], ref["resolution"])
    assert count_detector(spec).params == ref["reference_params"] == params
    assert _params(build_detector(spec)) == params


def test_ssdlite_macs_match_torchvision_rounded_figure() -> None:
    """torchvision publishes 0.583 GFLOPS (multiply-adds) for ssdlite320_mobilenet_v3_large."""
    ref = zoo.published()["ssdlite320_mobilenet_v3_large"]["reference_macs_rounded"]
    assert round(count_detector(zoo.get("ssdlite320_mobilenet_v3_large")).macs, -6) == ref


def test_published_entries_name_zoo_detectors() -> None:
    assert set(zoo.published()) <= set(zoo.names())


@pytest.mark.parametrize("name", zoo.names())
def test_counter_matches_built_module_and_fvcore(name: str) -> None:
    spec = zoo.get(name)
    model = build_detector(spec)
    counted = count_detector(spec)
    assert counted.params == _params(model)
    assert counted.macs == fvcore_macs(model, spec)
    assert sum(p.params for p in counted.parts) == counted.params


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(detectors())
def test_random_detectors_count_exactly(spec: DetectorSpec) -> None:
    model = build_detector(spec)
    counted = count_detector(spec)
    assert counted.params == _params(model)
    assert counted.macs == fvcore_macs(model, spec)
    with torch.no_grad():
        logits, boxes = model.eval()(torch.randn(2, spec.backbone.in_chans, spec.resolution, spec.resolution))
    assert len(logits) == len(boxes) == spec.levels == len(counted.levels)
    per_location = spec.head.anchors_per_location if spec.head.kind == "ssdlite" else 1
    for level, lg, bx in zip(counted.levels, logits, boxes, strict=True):
        n = level.size * level.size * per_location
        assert lg.shape[:2] == bx.shape[:2] == (2, n) and bx.shape[2] == 4
        assert lg.shape[2] == spec.num_classes + (spec.head.kind == "yolox")
    decoded, scores = model.decode((logits, boxes))
    assert decoded.shape == (2, sum(lg.shape[1] for lg in logits), 4)
    assert scores.shape == (2, decoded.shape[1], spec.object_classes)


def test_ssd_decoding_of_zero_deltas_gives_the_default_boxes() -> None:
    """Zero deltas decode to the default boxes; their first box and last box computed by hand from
    torchvision's DefaultBoxGenerator (scales 0.2 .. 0.95 over six maps, then 1.0; clip in cx, cy, w, h)."""
    spec = zoo.get("ssdlite320_mobilenet_v3_large_10cls")
    decoder = build_detector(spec).decoder
    n = decoder.priors.shape[0]
    assert n == sum(level.size**2 * 6 for level in count_detector(spec).levels) == 3234
    boxes, scores = decoder(torch.zeros(1, n, 10), torch.zeros(1, n, 4))
    centre, size = 0.5 / 20 * 320, 0.2 * 320  # first map 20x20, scale 0.2, aspect 1
    torch.testing.assert_close(boxes[0, 0], torch.tensor([0.0, 0.0, centre + size / 2, centre + size / 2]))
    side = math.sqrt(0.95 * 1.0) * 320  # last map 1x1: second square box at sqrt(s_k * s_k+1)
    lo, hi = max(160 - side / 2, 0), min(160 + side / 2, 320)
    torch.testing.assert_close(boxes[0, n - 5], torch.tensor([lo, lo, hi, hi]))
    torch.testing.assert_close(scores, torch.full((1, n, 9), 0.1))


def test_ssd_decoding_applies_the_box_coder_weights() -> None:
    """dx = 10 moves the centre by one prior width; dw = 5 ln 2 doubles the width (weights 10, 10, 5, 5)."""
    spec = zoo.get("ssdlite320_mobilenet_v3_large_10cls")
    decoder = build_detector(spec).decoder
    n = decoder.priors.shape[0]
    index = 600  # a box on the first map away from the border
    cx, cy, w, h = decoder.priors[index].tolist()
    deltas = torch.zeros(1, n, 4)
    deltas[0, index] = torch.tensor([10.0, 0.0, 5 * math.log(2), 0.0])
    boxes, _ = decoder(torch.zeros(1, n, 10), deltas)
    want = torch.tensor([cx, cy - h / 2, cx + 2 * w, cy + h / 2]).clamp(0, 320)  # centre cx + w, width 2w
    torch.testing.assert_close(boxes[0, index], want)


def test_yolox_decoding_uses_cells_and_strides() -> None:
    spec = zoo.get("yolox_nano_style")
    decoder = build_detector(spec).decoder
    n = decoder.cells.shape[0]
    assert n == 52 * 52 + 26 * 26 + 13 * 13
    deltas = torch.zeros(1, n, 4)
    deltas[0, 52 * 52 + 26 * 3 + 5] = torch.tensor([0.5, 0.5, math.log(4.0), 0.0])  # 2nd map, row 3, column 5
    logits = torch.zeros(1, n, 81)
    boxes, scores = decoder(logits, deltas)
    cx, cy = (5 + 0.5) * 16, (3 + 0.5) * 16
    torch.testing.assert_close(boxes[0, 52 * 52 + 26 * 3 + 5], torch.tensor([cx - 32, cy - 8, cx + 32, cy + 8]))
    torch.testing.assert_close(boxes[0, 0], torch.tensor([0.0, 0.0, 4.0, 4.0]))  # cell (0, 0), stride 8, clipped
    torch.testing.assert_close(scores, torch.full((1, n, 80), 0.25))


def test_detect_equals_decode_of_forward() -> None:
    spec = zoo.get("yolox_nano_style")
    model = build_detector(spec).eval()
    x = torch.randn(1, 3, spec.resolution, spec.resolution)
    with torch.no_grad():
        boxes, scores = model.detect(x)
        again = model.decode(model(x))
    assert torch.equal(boxes, again[0]) and torch.equal(scores, again[1])
    assert boxes.min() >= 0 and boxes.max() <= spec.resolution and 0 <= scores.min() and scores.max() <= 1
