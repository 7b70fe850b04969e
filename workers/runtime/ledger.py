"""Where trials live: proposals come from an in-memory Optuna study, every trial is persisted in the RDB study.

This module is the one adapter that goes below Optuna's public storage API (its RDB models and a trial's
``_trial_id``); ``tests/workers/test_ledger.py`` fails loudly when a new Optuna changes what it relies on.

Optuna writes one transaction per suggested parameter (57 per architecture in the default space), which made
the RDB the driver's bottleneck. The ledger samples in memory and persists each trial in one transaction when
it is proposed (state RUNNING, all parameters, the spec key) and in one transaction when it ends (state, values,
record, constraint, and the learning curve as Optuna intermediate values). On start it replays the stored
history into the in-memory study, so samplers see every earlier trial, and fails trials a dead driver left
RUNNING, returning their parameters to be proposed again.
"""

from __future__ import annotations

import datetime
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, Trial

from workers.runtime.database import open_storage
from workers.runtime.outage import until_available
from workers.runtime.outcome import TrialState

RECORD = "record"
# measurements also stored as user attributes of their own, so that optuna-dashboard shows them as columns
HEADLINE = ("accuracy", "latency_ms", "macs", "params", "reward", "spec_key", "error", "stopped", "reused_from")
# the record's learning curve, written as the trial's intermediate values (step = epoch, from 1), which
# optuna-dashboard draws; Optuna's ``trial.report`` refuses multi-objective studies, its storage does not
CURVE = "epoch_accuracies"
INTERRUPTED = "interrupted: the driver stopped while this trial ran"
_CONSTRAINT_PREFIX = "constraints:"


@dataclass(frozen=True)
class Stored:
    """A trial's row in the RDB study."""

    trial_id: int
    number: int


class Ledger:
    """See the module docstring."""

    def __init__(self, storage_url: str, study_name: str, directions: list[str],
                 make_sampler: Callable[[int], optuna.samplers.BaseSampler],
                 metric_names: list[str] | None = None) -> None:
        """``make_sampler(n)`` gets the number of trials already stored (to offset a resumed sampler's seed);
        ``metric_names`` name the objectives (optuna-dashboard shows them)."""
        self.storage = open_storage(storage_url)
        study = until_available(lambda: optuna.create_study(storage=self.storage, study_name=study_name,
                                                            load_if_exists=True, directions=directions),
                                what=f"study {study_name}: open")
        if metric_names is not None and study.metric_names != metric_names:
            with warnings.catch_warnings():  # experimental since Optuna 3.2, still so in 4.x; pinned by a test
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                until_available(lambda: study.set_metric_names(metric_names), what=f"study {study_name}: names")
        self.study_id = self.storage.get_study_id_from_name(study_name)
        stored = self.storage.get_n_trials(self.study_id)
        self.memory = optuna.create_study(directions=directions, sampler=make_sampler(stored))
        self.recovered: list[tuple[int, dict[str, Any]]] = []  # (number, record) of trials ``recover`` failed

    def history(self) -> list[FrozenTrial]:
        return until_available(lambda: self.storage.get_all_trials(self.study_id, deepcopy=False),
                               what="read the study's trials")

    def recover(self, requeue: bool = True) -> list[FrozenTrial]:
        """Fail the trials left RUNNING (keeping their record) and replay the history into memory.

        Returns the finished history. With ``requeue``, interrupted parameters that never finished since are
        proposed again first (a job that chooses its own parameters, like the grid, passes False).
        """
        for t in self.history():
            if TrialState.of(t.state) is TrialState.RUNNING:
                record = {**t.user_attrs.get(RECORD, {}), "error": INTERRUPTED}
                self.storage.set_trial_user_attr(trial_id(t), RECORD, record)
                self.storage.set_trial_state_values(trial_id(t), TrialState.FAIL.optuna)
                self.recovered.append((t.number, record))
        history = [t for t in self.history() if t.state.is_finished()]
        self.memory.add_trials(history)
        if not requeue:
            return history
        settled = {_key(t) for t in history if TrialState.of(t.state) is not TrialState.FAIL or _error(t) != INTERRUPTED}
        queued: set[str] = set()
        for t in history:
            key = _key(t)
            if _error(t) == INTERRUPTED and key and key not in settled and key not in queued:
                self.memory.enqueue_trial(t.params)
                queued.add(key)
        return history

    def ask(self) -> Trial:
        return self.memory.ask()

    def persist(self, trial: Trial, record: dict[str, Any]) -> Stored:
        """Store a freshly sampled trial as RUNNING with all its parameters, in one transaction.

        Optuna's own ``create_new_trial`` issues two queries per parameter (one scanning every stored parameter
        of the study); this writes the same rows of Optuna's schema in one bulk insert. Retried while the
        database is away.
        """
        return until_available(lambda: self._persist(trial, record), what=f"trial {trial.number}: persist")

    def _persist(self, trial: Trial, record: dict[str, Any]) -> Stored:
        from optuna.distributions import distribution_to_json
        from optuna.storages._rdb import models

        session = self.storage.scoped_session()
        try:
            models.StudyModel.find_or_raise_by_id(self.study_id, session, for_update=True)
            row = models.TrialModel(study_id=self.study_id, number=None, state=TrialState.RUNNING.optuna,
                                    datetime_start=datetime.datetime.now())
            session.add(row)
            session.flush()
            row.number = row.count_past_trials(session)
            session.add_all([
                models.TrialParamModel(trial_id=row.trial_id, param_name=name,
                                       param_value=trial.distributions[name].to_internal_repr(value),
                                       distribution_json=distribution_to_json(trial.distributions[name]))
                for name, value in trial.params.items()
            ])
            session.add(models.TrialUserAttributeModel(
                trial_id=row.trial_id, key=RECORD, value_json=json.dumps({"spec_key": record.get("spec_key")})))
            session.commit()
            return Stored(row.trial_id, row.number)
        except BaseException:
            session.rollback()
            raise
        finally:
            self.storage.scoped_session.remove()

    def finish(self, trial: Trial, stored: Stored, record: dict[str, Any], state: TrialState,
               values: list[float] | None, constraint: tuple[str, float] | None = None) -> None:
        """Tell the in-memory study and persist the outcome (record, learning curve, constraint, state and
        values); the writes are retried while the database is away, so an outcome reached during an outage is
        written after it."""
        what = f"trial {stored.number}: record its outcome"
        if constraint is not None:
            trial.set_constraint(*constraint)
            until_available(lambda: self.storage.set_trial_system_attr(
                stored.trial_id, _CONSTRAINT_PREFIX + constraint[0], constraint[1]), what=what)
        self.memory.tell(trial, values=values, state=state.optuna)
        attrs = {RECORD: record, **{k: record[k] for k in HEADLINE if record.get(k) is not None}}
        curve = [float(v) for v in record.get(CURVE) or []]
        until_available(lambda: self._set_user_attrs(stored.trial_id, attrs, curve), what=what)
        until_available(lambda: self._set_state(stored.trial_id, state, values), what=what)

    def _set_user_attrs(self, trial_id: int, attrs: dict[str, Any], curve: list[float]) -> None:
        """Write (insert or replace) a trial's user attributes and its intermediate values (``curve[i]`` at step
        ``i + 1``) in one transaction (Optuna's setters take one transaction per attribute and per step)."""
        from optuna.storages._rdb import models

        session = self.storage.scoped_session()
        try:
            values = models.TrialIntermediateValueModel
            session.query(values).filter(values.trial_id == trial_id).delete()  # a retried write replaces them
            for step, value in enumerate(curve, start=1):
                stored, kind = values.intermediate_value_to_stored_repr(value)
                session.add(values(trial_id=trial_id, step=step, intermediate_value=stored,
                                   intermediate_value_type=kind))
            existing = {row.key: row for row in session.query(models.TrialUserAttributeModel)
                        .filter(models.TrialUserAttributeModel.trial_id == trial_id,
                                models.TrialUserAttributeModel.key.in_(list(attrs)))}
            for key, value in attrs.items():
                if key in existing:
                    existing[key].value_json = json.dumps(value)
                else:
                    session.add(models.TrialUserAttributeModel(trial_id=trial_id, key=key, value_json=json.dumps(value)))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self.storage.scoped_session.remove()

    def _set_state(self, trial_id: int, state: TrialState, values: list[float] | None) -> None:
        try:
            self.storage.set_trial_state_values(trial_id, state.optuna, values)
        except UpdateFinishedTrialError:  # an earlier try was committed before its connection broke
            pass


def trial_id(trial: FrozenTrial) -> int:
    """The storage's id of a trial (Optuna keeps it private; its storage API needs it)."""
    return trial._trial_id


def _key(trial: FrozenTrial) -> str | None:
    return trial.user_attrs.get(RECORD, {}).get("spec_key")


def _error(trial: FrozenTrial) -> str | None:
    return trial.user_attrs.get(RECORD, {}).get("error")
