"""A finalize's report: per network its proxy and full-fidelity figures, and the proxy truth over the trained set
(rank agreement between proxy and full-fidelity test accuracy, the fully trained front against each baseline at
the search's cost, and the sentences that say what they mean)."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from searchspace.table import format_table
from workers.search.config import SearchConfig
from workers.search.results import dominates
from workers.search.task import TASKS
from workers.search.truth import (
    BaselineVerdict,
    RankAgreement,
    agreement_sentence,
    dominance_sentence,
    front_vs_baselines,
    rank_agreement,
)


class NetworkKind(enum.StrEnum):
    TRIAL = "trial"
    BASELINE = "baseline"


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A network to finalize, with what the search measured of it: its proxy accuracy, and its latency (as the
    search had it: ``latency_source`` says predicted or measured) and MACs at the search's resolution."""

    name: str
    kind: NetworkKind
    trial: int | None
    spec_key: str
    proxy_accuracy: float
    latency_ms: float | None
    latency_source: str | None
    macs: int | None
    params: int | None

    def cost(self, objective: str) -> float | None:
        value = self.latency_ms if objective == "latency" else self.macs
        return None if value is None else float(value)


@dataclass(frozen=True, kw_only=True)
class NetworkResult:
    """One network after full-fidelity training (``error`` set and no figures when it failed): test accuracy of
    the checkpoint selected on validation, the learning curves, and the directory of its product."""

    candidate: Candidate
    test_accuracy: float | None = None  # detection: test mAP@[.5:.95]
    test_map50: float | None = None  # detection: test mAP@.5
    int8_test_accuracy: float | None = None  # the selected weights quantized to int8 (the recipe's int8)
    val_accuracy: float | None = None
    test_size: int | None = None
    resolution: int | None = None
    trained_macs: int | None = None
    trained_params: int | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)
    selected: str | None = None
    best_epoch: int | None = None
    stopped: str | None = None
    resumed_from: int | None = None
    inherited: bool = False  # started from the one-shot supernet's weights (``FinalizeConfig.inherit``)
    cpu_seconds: float | None = None
    train_seconds: float | None = None
    directory: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    export_errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_dict(cls, candidate: Candidate, data: dict[str, Any]) -> NetworkResult:
        """From a training task's measurements (``accuracy`` is the test accuracy)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "candidate"}
        return cls(candidate=candidate, test_accuracy=data.get("accuracy"), **known)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {**data.pop("candidate"), **data}


@dataclass(frozen=True, kw_only=True)
class FinalizeReport:
    study: str
    objective: str
    config: dict[str, Any]
    networks: list[NetworkResult]
    agreement: RankAgreement | None
    agreement_sentence: str
    front: list[str]  # the trials on the fully trained front (full test accuracy against the search's cost)
    verdicts: list[BaselineVerdict]  # ``dominated_by`` indexes ``front``
    dominance_sentence: str
    out: str
    stopped: str
    metric: str = "accuracy"  # what accuracy means for the search's task (a detection search's: test mAP)

    @property
    def cpu_seconds(self) -> float:
        """CPU time of the training tasks that finished the networks (a network resumed after a kill counts
        only the run that finished it)."""
        return sum(n.cpu_seconds or 0.0 for n in self.networks)

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "objective": self.objective, "metric": self.metric, "config": self.config,
                "out": self.out,
                "stopped": self.stopped, "cpu_seconds": self.cpu_seconds,
                "networks": [n.to_dict() for n in self.networks],
                "proxy_truth": {"agreement": None if self.agreement is None else self.agreement.to_dict(),
                                "agreement_sentence": self.agreement_sentence,
                                "front": self.front,
                                "baselines": [{**v.to_dict(), "dominated_by": None if v.dominated_by is None
                                               else self.front[v.dominated_by]} for v in self.verdicts],
                                "dominance_sentence": self.dominance_sentence}}

    def table(self) -> str:
        """The networks side by side, then the proxy truth in words."""
        cost = "latency ms" if self.objective == "latency" else "MACs"
        rows = []
        m = "acc" if self.metric == "accuracy" else self.metric
        fifth = ("test mAP@.5", lambda n: n.test_map50) if "mAP" in m else ("int8 test acc", lambda n: n.int8_test_accuracy)
        for n in self.networks:
            c = n.candidate
            shown = c.latency_ms if self.objective == "latency" else c.macs
            rows.append([c.name, c.proxy_accuracy, n.val_accuracy, n.test_accuracy, fifth[1](n), shown,
                         n.resolution, len(n.epochs), "supernet" if n.inherited else "scratch",
                         n.directory if n.error is None else f"failed: {n.error[:60]}"])
        table = format_table(["network", f"proxy {m}", f"full val {m}", f"full test {m}", fifth[0],
                              f"search {cost}", "res", "epochs", "from", "product"], rows)
        return f"{table}\n{self.agreement_sentence}\n{self.dominance_sentence}"


def build_report(study: str, search: SearchConfig, config: dict[str, Any], networks: list[NetworkResult],
                 out: str, stopped: str) -> FinalizeReport:
    """Proxy truth over the networks that trained: Spearman and Kendall between proxy accuracy and full-fidelity
    test accuracy, and whether the trials' fully trained front dominates each baseline at the search's cost (its
    latency or MACs as the search measured or predicted them)."""
    objective = str(search.objective)
    trained = [n for n in networks if n.error is None and n.test_accuracy is not None]
    agreement = None
    if len(trained) >= 2:
        agreement = rank_agreement([n.candidate.proxy_accuracy for n in trained], [n.test_accuracy for n in trained])
        sentence = agreement_sentence(agreement)
    else:
        sentence = f"No rank correlation: {len(trained)} of {len(networks)} networks trained at full fidelity."
    points = [(n, n.candidate.cost(objective)) for n in trained]
    members = {n.candidate.name: (n.test_accuracy, cost) for n, cost in points
               if n.candidate.kind == NetworkKind.TRIAL and cost is not None}
    names = sorted((name for name, p in members.items() if not any(dominates(q, p) for q in members.values())),
                   key=lambda name: members[name][1])
    front = [members[name] for name in names]
    baselines = {n.candidate.name: (n.test_accuracy, cost) for n, cost in points
                 if n.candidate.kind == NetworkKind.BASELINE and cost is not None}
    verdicts = front_vs_baselines(front, baselines) if front else []
    what = "latency" if objective == "latency" else "MACs"
    if verdicts:
        dominance = dominance_sentence(verdicts, what)
    else:
        dominance = "No baseline to judge: none trained at full fidelity with a known cost beside a trained trial."
    return FinalizeReport(study=study, objective=objective, config=config, networks=networks, agreement=agreement,
                          agreement_sentence=sentence, front=names, verdicts=verdicts, dominance_sentence=dominance,
                          out=out, stopped=stopped, metric=TASKS[search.task].metric)
