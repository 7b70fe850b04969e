"""A search's stored trials ranked by the domain's rules (``workers.search``): its best trial, its Pareto front,
its baselines' verdicts and its progress. ``store.crud`` reads the rows; the rules are applied here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from api.progress import Progress
from store import crud
from store.models import Architecture, Search
from workers.runtime import TrialState
from workers.search import BaselineRecord, SearchConfig, TrialRecord, best_trial, pareto_front, verdict


def _completed(session: Session, search_id: uuid.UUID) -> list[TrialRecord]:
    """The search's completed trials as light records: only the columns the ranking rules read."""
    return [TrialRecord(number=row.number, state=TrialState.COMPLETE, accuracy=row.accuracy,
                        latency_ms=row.latency_ms, macs=row.macs, reward=row.reward)
            for row in crud.completed_trials(session, search_id=search_id)]


def best_architecture(session: Session, search: Search) -> Architecture | None:
    """The search's best completed trial, by the one rule ``workers.search.best_trial`` states per mode."""
    best = best_trial(_completed(session, search.id), SearchConfig.from_dict(search.config))
    return None if best is None else crud.trials_by_number(session, search_id=search.id, numbers=[best.number])[0]


def _front(session: Session, search: Search) -> list[TrialRecord]:
    return pareto_front(_completed(session, search.id), search.config.get("objective", "latency"))


def pareto(session: Session, search_id: uuid.UUID) -> list[Architecture]:
    """The search's non-dominated completed trials (accuracy up, latency or MACs down), by increasing cost."""
    search = crud.get_search(session, search_id=search_id)
    return crud.trials_by_number(session, search_id=search_id, numbers=[r.number for r in _front(session, search)])


def baselines(session: Session, search_id: uuid.UUID) -> list[tuple[Architecture, dict[str, Any]]]:
    """A search's baselines in the order its config names them, each with its verdict against the front
    (``dominated``, ``dominated_by``: see ``workers.search.verdict``)."""
    search = crud.get_search(session, search_id=search_id)
    rows = crud.baseline_rows(session, search_id=search_id)
    objective = search.config.get("objective", "latency")
    front = _front(session, search)
    named = search.config.get("baselines", [])
    order = [n for n in named if n in rows] + sorted(set(rows) - set(named))
    out = []
    for name in order:
        row = rows[name]
        record = BaselineRecord(name=name, state=row.state or TrialState.RUNNING, accuracy=row.accuracy,
                                latency_ms=row.latency_ms, macs=row.macs)
        out.append((row, verdict(record, front, objective)))
    return out


def progress(session: Session, search: Search) -> Progress:
    """Trials per state (rejected ones apart from pruned) against the budget."""
    counts = crud.trial_counts(session, search_id=search.id)
    return Progress(budget=int(search.config.get("n_trials", 0)), complete=counts[TrialState.COMPLETE],
                    pruned=counts[TrialState.PRUNED], failed=counts[TrialState.FAIL], rejected=counts[None])
