"""The proxy design tool: 3 random architectures of the space on digits at 2 proxy settings and at full
fidelity, through the command line; the recommendation and every figure checked against the report's own."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from workers.cli import main
from workers.search import ProxyCheckConfig, ProxySetting
from workers.search.proxy_check import sample_candidates


def test_config_validates_and_round_trips() -> None:
    config = ProxyCheckConfig(candidates=3, resolutions=(8, 12), epochs=(1,), subsets=(0.5,), min_correlation=0.3)
    assert ProxyCheckConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.settings == [ProxySetting(resolution=8, epochs=1, subset=0.5),
                               ProxySetting(resolution=12, epochs=1, subset=0.5)]
    for bad, path in (({"candidates": 1}, "candidates"), ({"resolutions": [4]}, r"resolutions\[0\]"),
                      ({"epochs": [1, 1]}, "epochs"), ({"subsets": []}, "subsets"),
                      ({"min_correlation": 2}, "min_correlation"), ({"recipe": {"lr": 0}}, "recipe.lr")):
        with pytest.raises(SpecError, match=path):
            ProxyCheckConfig.from_dict(bad)


def test_candidates_are_distinct_and_seeded() -> None:
    config = ProxyCheckConfig()
    first = sample_candidates(config.space, 5, seed=1)
    assert len({s.to_string() for s in first}) == 5 and all(isinstance(s, ArchSpec) for s in first)
    assert [s.to_string() for s in sample_candidates(config.space, 5, seed=1)] == [s.to_string() for s in first]


def test_proxy_check_recommends_the_cheapest_setting_that_ranks_well(
        ray_session: None, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["proxy-check", "--dataset", "digits", "--subset", "0.3", "--candidates", "3", "--resolutions", "8,12",
            "--epochs", "1", "--subsets", "1", "--min-correlation", "-1", "--full-epochs", "2",
            "--full-resolution", "12", "--full-batch-size", "64", "--full-bn-calibration", "128", "--seed", "2",
            "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == [] and len(report["candidates"]) == 3
    full = report["full_accuracies"]
    assert all(0.0 <= a <= 1.0 for a in full) and report["full_cpu_seconds"] > 0
    assert [s["label"] for s in report["settings"]] == ["8 px, 1 ep, subset 1", "12 px, 1 ep, subset 1"]
    for setting in report["settings"]:
        proxy = setting["accuracies"]
        assert len(proxy) == 3 and all(0.0 <= a <= 1.0 for a in proxy) and setting["cpu_seconds"] > 0
        agreement = setting["agreement"]
        if len(set(proxy)) > 1 and len(set(full)) > 1:
            assert agreement["spearman"] == pytest.approx(stats.spearmanr(proxy, full).statistic)
            assert agreement["kendall"] == pytest.approx(stats.kendalltau(proxy, full).statistic)
    meeting = [s for s in report["settings"] if s["agreement"]["spearman"] is not None
               and not math.isnan(s["agreement"]["spearman"])]
    assert meeting, "every setting gave all three the same accuracy"
    recommended = report["recommended"]
    assert recommended == min(meeting, key=lambda s: s["cpu_seconds"])
    assert recommended["label"] in report["sentence"] and report["sentence"].startswith("Recommended")


def test_no_setting_reaching_the_bar_recommends_none() -> None:
    from workers.search.proxy_check import ProxyCheckReport, SettingResult
    from workers.search.truth import rank_agreement

    config = ProxyCheckConfig(candidates=3, resolutions=(8,), epochs=(1,), subsets=(1.0,), min_correlation=0.9)
    weak = SettingResult(setting=config.settings[0], accuracies=[0.3, 0.2, 0.1],
                         agreement=rank_agreement([0.3, 0.2, 0.1], [0.1, 0.2, 0.3]), cpu_seconds=5.0)
    assert not weak.meets(0.9)
    report = ProxyCheckReport(config=config, candidates=["a", "b", "c"], full_accuracies=[0.1, 0.2, 0.3],
                              full_cpu_seconds=9.0, settings=[weak], recommended=None, errors=[])
    assert report.sentence.startswith("No proxy setting reaches Spearman 0.9")
