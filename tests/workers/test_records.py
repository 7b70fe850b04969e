"""The typed records and states: one measurement record from the worker to the store, each with one
serialisation that round-trips; Optuna's states map to the one trial-state type and back."""

from __future__ import annotations

import optuna
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.runtime import FINISHED, Evaluated, Outcome, StopReason, TrialState
from workers.search import BaselineRecord, TrialRecord
from workers.search.results import parse_stopped
from workers.training import Measurements, Stopped

floats = st.none() | st.floats(0, 1e6, allow_nan=False)
measurements = st.builds(
    Measurements, accuracy=floats, epoch_accuracies=st.lists(st.floats(0, 1), max_size=4),
    stopped=st.none() | st.sampled_from(Stopped), train_seconds=floats, eval_seconds=floats, latency_ms=floats,
    latency_source=st.none() | st.text(max_size=20), node_id=st.none() | st.text(max_size=8),
    cpu_seconds=floats)
stops = st.none() | st.sampled_from(Stopped) | st.sampled_from(StopReason)


@given(measurements)
def test_measurements_round_trip_and_carry_only_what_was_measured(m: Measurements) -> None:
    data = m.to_dict()
    assert Measurements.from_dict(data) == m
    assert None not in data.values() and all(isinstance(v, str) for k, v in data.items() if k == "stopped")


@given(measurements, st.sampled_from(FINISHED), st.integers(0, 10_000), stops, st.none() | st.text(max_size=10))
def test_a_trial_record_round_trips_through_the_study(m: Measurements, state: TrialState, number: int,
                                                      stopped: Stopped | StopReason | None, error: str | None) -> None:
    record = TrialRecord(number=number, state=state, spec_key="k", macs=7, **{**m.to_dict(), "stopped": stopped},
                         error=error, rejected=None)
    stored = record.to_record()
    assert "error" in stored and "stopped" in stored and "number" not in stored and "state" not in stored
    assert TrialRecord.from_record(number, state, stored) == record


@given(st.sampled_from(FINISHED), stops)
def test_a_baseline_record_round_trips_under_its_name(state: TrialState, stopped: Stopped | StopReason | None) -> None:
    record = BaselineRecord(name="micronet_m1", state=state, accuracy=0.5, macs=3, width=0.75, changes=["x"],
                            stopped=stopped)
    assert BaselineRecord.from_record(state, record.to_record()) == record


def test_stopped_parses_both_kinds_of_reason_and_refuses_others() -> None:
    assert parse_stopped("callback") is Stopped.CALLBACK and parse_stopped("timeout") is StopReason.TIMEOUT
    assert parse_stopped("") is None and parse_stopped(None) is None
    with pytest.raises(ValueError):
        parse_stopped("tired")


def test_trial_states_are_optunas() -> None:
    for state in optuna.trial.TrialState:
        assert TrialState.of(state).optuna is state and TrialState.of(state).value == state.name
    assert set(FINISHED) == {Outcome.COMPLETE, Outcome.PRUNED, Outcome.FAIL}
    assert all(s.finished for s in FINISHED) and not TrialState.RUNNING.finished


def test_an_evaluation_stopped_by_the_rule_is_pruned_and_keeps_its_measurements() -> None:
    evaluated = Evaluated.from_measured({"accuracy": 0.4, "epoch_accuracies": [0.3, 0.4], "stopped": "callback"})
    assert evaluated.outcome is Outcome.PRUNED and evaluated.stopped is Stopped.CALLBACK
    assert evaluated.measurements.epoch_accuracies == [0.3, 0.4]
    assert Evaluated.from_measured({"accuracy": 0.4, "stopped": None}).outcome is Outcome.COMPLETE
    assert Evaluated.failed("boom").record() == {"error": "boom", "stopped": None}
