"""Every product module stays under 400 lines (split by content when one grows past it)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("searchspace", "workers", "scaler", "store", "jobs", "api")
MAX_LINES = 400


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_no_product_module_is_over_400_lines() -> None:
    modules = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(modules) > 100  # the packages were found
    too_long = {str(p.relative_to(ROOT)): n for p in modules if (n := _lines(p)) > MAX_LINES}
    assert too_long == {}
