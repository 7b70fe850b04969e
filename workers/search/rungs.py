"""Multi-objective asynchronous successive halving (MO-ASHA): which trials train on at each rung.

ASHA (Li et al. 2020) trains every candidate to the first rung (e.g. 1 epoch) and lets only the best ``1/eta``
of those that reached a rung go on to the next (3, 9, ... epochs), deciding as each trial arrives, without
waiting for a full cohort. MO-ASHA (Schmucker et al. 2021) ranks the candidates at a rung by non-dominated
sorting over (accuracy so far: maximised, cost: minimised) instead of accuracy alone; inside one front the
tie-break here is NSGA-II's crowding distance (the front's extremes and lonely points first), then the lower
trial id.

The rule, for a trial arriving at rung ``k`` where ``n`` trials (itself included) have arrived: it is
promoted when fewer than ``ceil(n / eta)`` of the others rank ahead of it, unless a trial already stopped at
this rung dominates it. So a dominated candidate is never promoted over one that dominates it (an earlier
trial may have been promoted before a better one arrived: the asynchronous half of ASHA), and with arrivals in
random order about ``1/eta`` of a rung's trials are promoted. Pure Python (no Ray, no Optuna): the state is the set of
decisions made (``Report``), so ``Rungs.rebuild(reports)`` gives a scheduler that decides exactly as the one
that recorded them (a resumed search, a restarted Ray actor), whatever order the reports come back in.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from searchspace.checks import check_int
from searchspace.errors import SpecError


class Decision(enum.StrEnum):
    PROMOTE = "promote"  # train on to the next rung
    STOP = "stop"  # stop here: the trial keeps its measurements and this rung


@dataclass(frozen=True, kw_only=True)
class RungConfig:
    """Rungs at ``milestones`` epochs (increasing); a trial past the last one trains to the full budget."""

    milestones: tuple[int, ...]
    eta: int = 3

    def __post_init__(self) -> None:
        check_int("eta", self.eta, 2, 1000)
        object.__setattr__(self, "milestones", tuple(self.milestones))
        for i, epochs in enumerate(self.milestones):
            check_int(f"milestones[{i}]", epochs, 1, 10_000)
        if list(self.milestones) != sorted(set(self.milestones)):
            raise SpecError("milestones", f"must be strictly increasing; got {list(self.milestones)}")

    @classmethod
    def geometric(cls, min_epochs: int, eta: int, max_epochs: int) -> RungConfig:
        """Rungs at ``min_epochs * eta**k`` epochs below ``max_epochs`` (1, 3, 9 for 1, 3, 27)."""
        check_int("min_epochs", min_epochs, 1, 10_000)
        check_int("eta", eta, 2, 1000)
        milestones, epochs = [], min_epochs
        while epochs < max_epochs:
            milestones.append(epochs)
            epochs *= eta
        return cls(milestones=tuple(milestones), eta=eta)

    def rung_of(self, epochs: int) -> int | None:
        """The rung whose milestone is ``epochs`` trained, or None."""
        return self.milestones.index(epochs) if epochs in self.milestones else None

    def rung_index(self, epochs: int, max_epochs: int) -> int:
        """The highest rung a trial that trained ``epochs`` of ``max_epochs`` reached; ``len(milestones)``
        when it trained them all (full fidelity)."""
        return len(self.milestones) if epochs >= max_epochs else max(0, self.reached(epochs) - 1)

    def reached(self, epochs: int) -> int:
        """How many rungs a trial that trained ``epochs`` passed or stopped at (``len(milestones)``: all)."""
        return sum(1 for m in self.milestones if m <= epochs)


@dataclass(frozen=True)
class Report:
    """One decision: trial ``trial_id`` reached rung ``rung`` with ``accuracy`` at ``cost``."""

    trial_id: int
    rung: int
    accuracy: float
    cost: float
    decision: Decision

    def point(self) -> tuple[float, float]:
        return (self.accuracy, self.cost)


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """(accuracy, cost) ``a`` dominates ``b``: no less accurate, no costlier, and better in one."""
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def fronts(points: Sequence[tuple[float, float]]) -> list[list[int]]:
    """Non-dominated sorting: indices of ``points`` front by front (front 0 is dominated by none).

    Two objectives: in order of accuracy (down) then cost (up), a point joins the first front whose cheapest
    member (the most accurate of those, on a tie) does not dominate it; O(n log n + n x fronts).
    """
    out: list[list[int]] = []
    cheapest: list[tuple[float, float]] = []  # per front: its cheapest member's (cost, -accuracy)
    for i in sorted(range(len(points)), key=lambda i: (-points[i][0], points[i][1], i)):
        acc, cost = points[i]
        k = next((k for k, (c, neg_acc) in enumerate(cheapest) if not dominates((-neg_acc, c), (acc, cost))),
                 len(out))
        if k == len(out):
            out.append([])
            cheapest.append((cost, -acc))
        out[k].append(i)
        cheapest[k] = min(cheapest[k], (cost, -acc))
    return [sorted(front) for front in out]


def crowding(points: Sequence[tuple[float, float]], front: Sequence[int]) -> dict[int, float]:
    """NSGA-II crowding distance of each index of ``front`` (its extremes: infinite)."""
    distance = {i: 0.0 for i in front}
    for axis in (0, 1):
        order = sorted(front, key=lambda i: (points[i][axis], i))
        span = points[order[-1]][axis] - points[order[0]][axis]
        distance[order[0]] = distance[order[-1]] = math.inf
        if span <= 0:
            continue
        for before, here, after in zip(order, order[1:], order[2:]):
            distance[here] += (points[after][axis] - points[before][axis]) / span
    return distance


def priority(points: Sequence[tuple[float, float]], ids: Sequence[int]) -> list[int]:
    """Positions of ``points`` best first: by front, then crowding distance (larger first), then lower id."""
    order: list[int] = []
    for front in fronts(points):
        distance = crowding(points, front)
        order.extend(sorted(front, key=lambda i: (-distance[i], ids[i])))
    return order


@dataclass
class Rungs:
    """The MO-ASHA scheduler's state: every decision made, by rung. See the module docstring."""

    config: RungConfig
    reports: dict[int, dict[int, Report]] = field(default_factory=dict)  # rung -> trial id -> report

    @classmethod
    def rebuild(cls, config: RungConfig, reports: Iterable[Report]) -> Rungs:
        """The scheduler that recorded ``reports`` (any order): it decides the next trials the same way."""
        rungs = cls(config)
        for report in reports:
            rungs.reports.setdefault(report.rung, {})[report.trial_id] = report
        return rungs

    def history(self) -> list[Report]:
        """Every decision, by rung and trial id (what ``rebuild`` takes)."""
        return [r for rung in sorted(self.reports) for _, r in sorted(self.reports[rung].items())]

    def decide(self, trial_id: int, rung: int, accuracy: float, cost: float) -> Decision:
        """Promote or stop ``trial_id`` arriving at ``rung``; asking again for the same trial and rung repeats
        the first answer (a worker's retried call)."""
        if not 0 <= rung < len(self.config.milestones):
            raise SpecError("rung", f"must be 0..{len(self.config.milestones) - 1}; got {rung}")
        at_rung = self.reports.setdefault(rung, {})
        if trial_id in at_rung:
            return at_rung[trial_id].decision
        decision = self._judge(trial_id, (float(accuracy), float(cost)), list(at_rung.values()))
        at_rung[trial_id] = Report(trial_id, rung, float(accuracy), float(cost), decision)
        return decision

    def _judge(self, trial_id: int, point: tuple[float, float], others: list[Report]) -> Decision:
        if any(r.decision is Decision.STOP and dominates(r.point(), point) for r in others):
            return Decision.STOP
        points = [r.point() for r in others] + [point]
        ids = [r.trial_id for r in others] + [trial_id]
        position = priority(points, ids).index(len(others))
        quota = math.ceil(len(points) / self.config.eta)
        return Decision.PROMOTE if position < quota else Decision.STOP


def reports_of(config: RungConfig, trial_id: int, epoch_accuracies: Sequence[float], cost: float,
               stopped_early: bool) -> list[Report]:
    """The decisions a trial's recorded learning curve implies: promoted at every rung it trained past, stopped
    at the last one it reached when it was stopped early."""
    out = []
    for rung, epochs in enumerate(config.milestones):
        if epochs > len(epoch_accuracies):
            break
        last = epochs == len(epoch_accuracies)
        decision = Decision.STOP if last and stopped_early else Decision.PROMOTE
        out.append(Report(trial_id, rung, float(epoch_accuracies[epochs - 1]), float(cost), decision))
    return out
