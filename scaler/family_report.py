"""What a full-fidelity scaling search found beyond its grid: the winner's family trained with the recipe, the
same-budget baselines beside each member, and whether each member beats its baselines beyond seed noise
(accuracy against latency and MACs: the EfficientNet paper's figure 1, on the user's data)."""

from __future__ import annotations

import enum
import statistics
from dataclasses import dataclass, field
from typing import Any

from scaler.grid_stats import Comparison, compare
from searchspace.spec import ArchSpec
from searchspace.table import format_table
from workers.runtime import Stop


class Role(enum.StrEnum):
    """``member``: the family member of its phi; ``baseline``: a zoo network fitted to that member's MACs."""

    MEMBER = "member"
    BASELINE = "baseline"


@dataclass(frozen=True, kw_only=True)
class FamilyNetwork:
    """One network of the family's judgement: what it is (planned), then what training and timing found.

    ``spec`` is the network as trained (the data's classes and channels, its own resolution); ``macs_ratio`` its
    counted MACs over the base's (the phi = 0 network), ``ideal_ratio`` a member's (alpha*beta^2*gamma^2)^phi.
    A baseline names its zoo network, the width multiplier that matched the member's MACs and every change
    made to fit it. ``test_accuracies`` hold one test accuracy per seed in ``seeds`` (of the checkpoint the
    recipe selected on validation); ``directory`` is the product of the first seed (``directories``: every
    seed's). ``error`` says why the network has no figures (a seed failed, or the run stopped first).
    """

    name: str
    role: Role
    phi: float
    spec: ArchSpec
    params: int
    macs: int
    macs_ratio: float
    ideal_ratio: float | None = None
    zoo: str | None = None
    width: float | None = None
    changes: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    test_accuracies: tuple[float, ...] = ()
    val_accuracies: tuple[float, ...] = ()
    latency_ms: float | None = None
    latency_source: str | None = None
    directory: str | None = None
    directories: tuple[str, ...] = ()
    train_seconds: float | None = None
    cpu_seconds: float | None = None
    error: str | None = None

    @property
    def test_accuracy(self) -> float | None:
        return statistics.fmean(self.test_accuracies) if self.test_accuracies and self.error is None else None

    @property
    def test_accuracy_std(self) -> float | None:
        return statistics.stdev(self.test_accuracies) if len(self.test_accuracies) > 1 else None

    @property
    def val_accuracy(self) -> float | None:
        return statistics.fmean(self.val_accuracies) if self.val_accuracies and self.error is None else None

    @property
    def label(self) -> str:
        """``phi 2`` or ``mobilenet_v2 x0.62 (phi 2)``."""
        if self.role is Role.MEMBER:
            return f"phi {self.phi:g}"
        return f"{self.zoo} x{self.width:.3g} (phi {self.phi:g})"

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "spec"}
        data.update(role=self.role.value, changes=list(self.changes), seeds=list(self.seeds),
                    test_accuracies=list(self.test_accuracies), val_accuracies=list(self.val_accuracies),
                    directories=list(self.directories), test_accuracy=self.test_accuracy,
                    test_accuracy_std=self.test_accuracy_std, val_accuracy=self.val_accuracy, label=self.label,
                    resolution=self.spec.resolution, spec=self.spec.to_dict())
        return data


@dataclass(frozen=True, kw_only=True)
class FamilyResult:
    """The chosen coefficients' family and its baselines, trained; ``out`` is the directory of their products,
    ``latency`` how latency was obtained, ``stopped`` why the training ended (``budget``: every network ran)."""

    alpha: float
    beta: float
    gamma: float
    networks: list[FamilyNetwork]
    out: str
    latency: str
    stopped: Stop
    level: float
    baselines_why: str = field(default="")

    @property
    def members(self) -> list[FamilyNetwork]:
        return [n for n in self.networks if n.role is Role.MEMBER]

    @property
    def baselines(self) -> list[FamilyNetwork]:
        return [n for n in self.networks if n.role is Role.BASELINE]

    @property
    def cpu_seconds(self) -> float:
        """CPU time of the training tasks that finished the networks (a run resumed after a kill counts only the
        part that finished it)."""
        return sum(n.cpu_seconds or 0.0 for n in self.networks)

    def comparisons(self) -> list[tuple[FamilyNetwork, FamilyNetwork, Comparison]]:
        """Each baseline against the member of its phi: the member's test accuracy minus the baseline's, paired
        by seed (``distinguishable``: the member is better beyond seed noise)."""
        members = {m.phi: m for m in self.members}
        out = []
        for b in self.baselines:
            m = members.get(b.phi)
            if m is None or m.error is not None or b.error is not None:
                continue
            out.append((m, b, compare(m.name, dict(zip(m.seeds, m.test_accuracies, strict=True)), b.name,
                                      dict(zip(b.seeds, b.test_accuracies, strict=True)), self.level)))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "out": self.out, "latency": self.latency,
            "stopped": str(self.stopped), "cpu_seconds": self.cpu_seconds, "baselines_why": self.baselines_why,
            "members": [n.to_dict() for n in self.members],
            "baselines": [n.to_dict() for n in self.baselines],
            "comparisons": [{"member": m.name, "baseline": b.name, "macs_ratio": b.macs / m.macs,
                             "latency_ratio": _ratio(b.latency_ms, m.latency_ms), **c.to_dict(),
                             "sentence": _sentence(m, b, c)} for m, b, c in self.comparisons()],
        }

    def table(self) -> str:
        """The members and the baselines side by side, then each member against its baselines in words."""
        rows = [[n.label, n.spec.resolution, n.params, n.macs, n.macs_ratio, n.ideal_ratio, n.latency_ms,
                 n.test_accuracy, n.test_accuracy_std, len(n.test_accuracies),
                 n.directory if n.error is None else f"failed: {n.error[:60]}"] for n in self.networks]
        table = format_table(["network", "px", "params", "MACs", "MACs ratio", "ideal ratio", "latency ms",
                              "test acc", "+/- sd", "seeds", "product (first seed)"], rows)
        title = (f"family of alpha {self.alpha:g}, beta {self.beta:g}, gamma {self.gamma:g} beside "
                 f"{self.baselines_why or 'no baseline'}; latency {self.latency}")
        lines = [title, "", table, ""]
        lines += [_sentence(m, b, c) for m, b, c in self.comparisons()]
        return "\n".join(lines)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def _sentence(member: FamilyNetwork, baseline: FamilyNetwork, c: Comparison) -> str:
    """``phi 1 vs mobilenet_v2 x0.62 at 1.02x its MACs, 0.91x its latency: +0.0120 ...``."""
    cost = f"at {baseline.macs / member.macs:.2f}x its MACs"
    latency = _ratio(baseline.latency_ms, member.latency_ms)
    if latency is not None:
        cost += f", {latency:.2f}x its latency"
    return f"{member.label} vs {baseline.label} {cost}: {c.summary()}"
