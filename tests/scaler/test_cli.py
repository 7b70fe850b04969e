"""``python -m scaler derive``: output, JSON keys, --out, bad input exiting non-zero naming the argument."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scaler.cli import main
from searchspace import zoo
from searchspace.export import to_python
from searchspace.spec import ArchSpec

KEYS = {
    "phi",
    "alpha",
    "beta",
    "gamma",
    "width_mult",
    "depth_mult",
    "resolution",
    "params",
    "macs",
    "base_macs",
    "macs_ratio",
    "ideal_ratio",
    "spec",
}


def run(capsys, *argv: str) -> str:
    assert main(["derive", *argv]) == 0
    return capsys.readouterr().out


def test_subprocess_default_phi3_json():
    proc = subprocess.run(
        [sys.executable, "-m", "scaler", "derive", "--phi", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert KEYS <= set(row)
    assert (row["phi"], row["alpha"], row["beta"], row["gamma"]) == (3, 1.2, 1.1, 1.15)
    assert row["width_mult"] == pytest.approx(1.1**3) and row["depth_mult"] == pytest.approx(1.2**3)
    assert row["resolution"] == 336 and row["ideal_ratio"] == pytest.approx((1.2 * 1.1**2 * 1.15**2) ** 3)
    spec = ArchSpec.from_dict(row["spec"])
    assert spec.resolution == 336 and row["base_macs"] == 385_814_752
    assert row["macs_ratio"] == pytest.approx(row["macs"] / row["base_macs"])
    assert row["macs_ratio"] == pytest.approx(row["ideal_ratio"], rel=0.01)  # the paper's rounding: 8.43 / 7.08
    assert row["rounding"]["rule"] == "fit" and row["rounding"]["resolution_divisor"] == 16
    assert row["rounding"]["adjusted"]


def test_paper_rounding(capsys):
    row = json.loads(run(capsys, "--phi", "3", "--json", "--rounding", "paper"))
    assert row["resolution"] == 344 and row["macs_ratio"] == pytest.approx(8.432, abs=1e-3)
    assert row["rounding"] == {"rule": "paper", "target_ratio": row["ideal_ratio"], "width": row["width_mult"],
                               "resolution_divisor": 8, "repeats": [2, 4, 4, 6, 6, 7, 2], "adjusted": []}
    assert "rounding moved" not in run(capsys, "--all", "--rounding", "paper")


def test_text_table(capsys):
    out = run(capsys, "--phi", "2")
    assert "base efficientnet_b0" in out and "alpha*beta^2*gamma^2 = 1.920" in out
    header = next(line for line in out.splitlines() if line.startswith("phi"))
    for column in (
        "alpha",
        "beta",
        "gamma",
        "width",
        "depth",
        "resolution",
        "params",
        "MACs",
        "MACs ratio",
        "ideal ratio",
    ):
        assert column in header
    assert "efficientnet_b0-phi2: arch:resolution=288" in out and "\nrounding: fit" in out
    assert "rounding moved from the paper's rules to keep the MACs ratio:\nphi 2: depth: 1.44 x repeats" in out


def test_all_official_json_matches_published(capsys):
    rows = json.loads(run(capsys, "--all", "--official", "--json"))
    assert [r["phi"] for r in rows] == list(range(8))
    for r in rows:
        ref = zoo.published()[f"efficientnet_b{r['phi']}"]
        assert r["params"] == ref["reference_params"]
        assert abs(r["macs"] / ref["reference_macs"] - 1) < 0.005
        assert r["alpha"] is None and r["resolution"] == ref["resolution"]


def test_all_table_and_custom_coefficients(capsys):
    out = run(capsys, "--all", "--zoo", "mobilenet_v2", "--alpha", "1.4", "--beta", "1.05", "--gamma", "1.1")
    lines = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(lines) == 8 and "base mobilenet_v2" in out


def test_base_file_and_out_dir(capsys, tmp_path):
    base = tmp_path / "base.json"
    base.write_text(zoo.get("ghostnet_1_0").to_json())
    rows = json.loads(run(capsys, "--base", str(base), "--all", "--json", "--out", str(tmp_path / "fam")))
    files = sorted(p.name for p in (tmp_path / "fam").glob("*.json"))
    assert len(files) == 8 and "ghostnet_1_0.json" in files and "ghostnet_1_0-phi7.json" in files
    phi3 = ArchSpec.from_json((tmp_path / "fam" / "ghostnet_1_0-phi3.json").read_text())
    assert phi3 == ArchSpec.from_dict(rows[3]["spec"])
    assert sorted(p.stem for p in (tmp_path / "fam").glob("*.py")) == sorted(name.removesuffix(".json") for name in files)
    assert (tmp_path / "fam" / "ghostnet_1_0-phi3.py").read_text() == to_python(phi3)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--phi", "-1"], "--phi"),
        (["--phi", "13"], "--phi"),
        (["--phi", "nan"], "--phi"),
        (["--phi", "x"], "--phi"),
        (["--phi", "8", "--official"], "--phi"),
        (["--phi", "1", "--alpha", "0.9"], "--alpha"),
        (["--phi", "1", "--beta", "0"], "--beta"),
        (["--phi", "1", "--gamma", "-2"], "--gamma"),
        (["--phi", "1", "--official", "--alpha", "1.3"], "--alpha"),
        (["--phi", "1", "--official", "--rounding", "fit"], "--rounding"),
        (["--phi", "1", "--rounding", "nearest"], "--rounding"),
        (["--phi", "1", "--zoo", "resnet50"], "--zoo"),
        (["--phi", "1", "--base", "/nonexistent/spec.json"], "--base"),
        (["--phi", "1", "--base", "{bad}"], "--base"),
        (["--phi", "2", "--max-params", "10M"], "--max-params"),
        (["--phi", "2", "--max-macs", "1e9"], "--max-macs"),
        (["--phi", "2", "--max-macs", "lots"], "--max-macs"),
        (["--phi", "2", "--max-macs", "1e400"], "--max-macs"),
        (["--phi", "6", "--alpha", "3"], "--alpha"),  # depth 729x: more repeats than a stage allows
        (["--phi", "1", "--all"], "--all"),
        ([], "--phi"),
    ],
)
def test_bad_input_exits_naming_the_argument(capsys, tmp_path, argv, option):
    if "{bad}" in argv:
        bad = tmp_path / "bad.json"
        bad.write_text('{"stem": {"out_chs": 32}, "stages": [], "head": {}}')
        argv = [str(bad) if a == "{bad}" else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(["derive", *argv])
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert "error:" in err and option in err and "Traceback" not in err


def test_not_a_spec_file(capsys, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("not json")
    with pytest.raises(SystemExit):
        main(["derive", "--phi", "1", "--base", str(bad)])
    assert "--base" in capsys.readouterr().err
