"""The ledger is the one adapter below Optuna's public API: these tests fail loudly on a new Optuna schema.

A trial the ledger persists in bulk must read back through Optuna's public storage API exactly like one that
Optuna created itself (number, state, params, distributions, values, user attrs), on both backends.
"""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages._rdb import models
from optuna.trial import TrialState

from workers.runtime import INTERRUPTED, RECORD, Ledger, Outcome
from workers.runtime.ledger import trial_id

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _suggest(trial: optuna.trial.BaseTrial) -> None:
    trial.suggest_float("stage0/width", 0.5, 1.5)
    trial.suggest_int("stage0/kernel", 3, 7, step=2)
    trial.suggest_categorical("stage0/kind", ["mbconv", "ghost"])


def test_the_rdb_models_keep_the_columns_the_ledger_writes() -> None:
    expected = {
        models.TrialModel: {"trial_id", "number", "study_id", "state", "datetime_start"},
        models.TrialParamModel: {"trial_id", "param_name", "param_value", "distribution_json"},
        models.TrialUserAttributeModel: {"trial_id", "key", "value_json"},
        models.TrialIntermediateValueModel: {"trial_id", "step", "intermediate_value", "intermediate_value_type"},
    }
    for model, columns in expected.items():
        missing = columns - set(model.__table__.columns.keys())
        assert not missing, f"Optuna {optuna.__version__} changed {model.__name__}: {missing} gone (workers/ledger.py)"
    assert callable(models.StudyModel.find_or_raise_by_id) and callable(models.TrialModel.count_past_trials)
    assert models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(0.5) == (
        0.5, models.TrialIntermediateValueModel.TrialIntermediateValueType.FINITE)


def test_a_persisted_trial_reads_back_like_one_optuna_wrote(database_url: str) -> None:
    ledger = Ledger(database_url, "ledger-contract", ["maximize", "minimize"],
                    lambda _: optuna.samplers.RandomSampler(seed=1), metric_names=["accuracy", "latency_ms"])
    reference = optuna.create_study(storage=ledger.storage, study_name="ledger-reference",
                                    directions=["maximize", "minimize"])
    theirs = reference.ask()
    _suggest(theirs)
    mine = ledger.ask()
    _suggest(mine)
    stored = ledger.persist(mine, {"spec_key": "key-0"})
    [read] = ledger.history()
    assert (read.number, read.state, trial_id(read)) == (stored.number, TrialState.RUNNING, stored.trial_id)
    assert read.params == mine.params and read.distributions == mine.distributions
    [ref] = reference.get_trials(deepcopy=False)
    assert {k: type(v) for k, v in read.distributions.items()} == {k: type(v) for k, v in ref.distributions.items()}
    assert set(read.distributions.values()) <= {FloatDistribution(0.5, 1.5), IntDistribution(3, 7, step=2),
                                                CategoricalDistribution(["mbconv", "ghost"])}
    assert read.user_attrs[RECORD] == {"spec_key": "key-0"}

    record = {"spec_key": "key-0", "accuracy": 0.9, "latency_ms": 3.0, "epoch_accuracies": [0.8, 0.9]}
    ledger.finish(mine, stored, record, Outcome.COMPLETE, [0.9, 3.0])
    [done] = ledger.history()
    assert done.state == TrialState.COMPLETE and done.values == [0.9, 3.0]
    # what optuna-dashboard shows: named objectives, the headline measurements as attributes of their own
    assert optuna.load_study(study_name="ledger-contract", storage=ledger.storage).metric_names == [
        "accuracy", "latency_ms"]
    assert done.user_attrs == {RECORD: record, "spec_key": "key-0", "accuracy": 0.9, "latency_ms": 3.0}
    # the learning curve as intermediate values (what optuna-dashboard draws), read back through Optuna's API
    [public] = optuna.load_study(study_name="ledger-contract", storage=database_url).get_trials(deepcopy=False)
    assert public.intermediate_values == done.intermediate_values == {1: 0.8, 2: 0.9}


def test_every_finished_trial_keeps_its_curve_even_a_multi_objective_one(database_url: str) -> None:
    """Optuna's ``trial.report`` refuses multi-objective studies; the ledger's curve lands all the same, for
    pruned and failed trials too, and a rewrite of the same outcome replaces the steps instead of adding any."""
    ledger = Ledger(database_url, "ledger-curves", ["maximize", "minimize"],
                    lambda _: optuna.samplers.RandomSampler(seed=4))
    with pytest.raises(NotImplementedError):
        ledger.memory.ask().report(0.5, step=1)
    curves = {Outcome.COMPLETE: [0.2, 0.4, 0.6], Outcome.PRUNED: [0.1], Outcome.FAIL: [0.3, float("nan")]}
    for outcome, curve in curves.items():
        trial = ledger.ask()
        _suggest(trial)
        stored = ledger.persist(trial, {"spec_key": outcome.name})
        ledger._set_user_attrs(stored.trial_id, {}, [9.0, 9.0, 9.0, 9.0])  # an earlier, longer try of the write
        ledger.finish(trial, stored, {"spec_key": outcome.name, "epoch_accuracies": curve}, outcome,
                      [0.6, 1.0] if outcome is Outcome.COMPLETE else None)
    read = {t.user_attrs[RECORD]["spec_key"]: t.intermediate_values for t in ledger.history()}
    assert read["COMPLETE"] == {1: 0.2, 2: 0.4, 3: 0.6} and read["PRUNED"] == {1: 0.1}
    assert read["FAIL"][1] == 0.3 and read["FAIL"][2] != read["FAIL"][2]  # NaN kept as NaN


def test_recover_fails_running_trials_and_requeues_their_parameters(database_url: str) -> None:
    first = Ledger(database_url, "ledger-recover", ["maximize"], lambda _: optuna.samplers.RandomSampler(seed=2))
    trial = first.ask()
    _suggest(trial)
    first.persist(trial, {"spec_key": "interrupted"})  # its process dies here: RUNNING forever
    again = Ledger(database_url, "ledger-recover", ["maximize"], lambda _: optuna.samplers.RandomSampler(seed=3))
    [failed] = again.recover()
    assert failed.state == TrialState.FAIL and failed.user_attrs[RECORD]["error"] == INTERRUPTED
    retried = again.ask()
    _suggest(retried)
    assert retried.params == trial.params  # the interrupted architecture is proposed again first


@pytest.fixture(autouse=True)
def _fresh_studies(database_url: str) -> None:
    storage = optuna.storages.RDBStorage(database_url)
    for name in ("ledger-contract", "ledger-reference", "ledger-recover"):
        try:
            optuna.delete_study(study_name=name, storage=storage)
        except KeyError:
            pass
