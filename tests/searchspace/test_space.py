"""The search space: valid samples everywhere, stable names, determinism, size, JSON, speed."""

from __future__ import annotations

import time

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import searchspace as ss
from searchspace.space import B0_SKELETON, SearchSpace, StageSpace, params_of, sample

optuna.logging.set_verbosity(optuna.logging.WARNING)
SMALL = SearchSpace(resolutions=(32, 48), in_chans=1, num_classes=10, stem_stride=1)


def _samples(space: SearchSpace, seed: int, n: int) -> list[ss.ArchSpec]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [sample(study.ask(), space) for _ in range(n)]


@given(st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_every_sample_is_a_valid_buildable_spec(seed: int) -> None:
    (spec,) = _samples(SMALL, seed, 1)
    assert ss.ArchSpec.from_json(spec.to_json()) == spec
    assert ss.count(spec).params > 0
    assert len(spec.stages) == len(B0_SKELETON)


def test_samples_build_and_match_the_count() -> None:
    for spec in _samples(SMALL, 1, 4):
        model = ss.build(spec)
        assert ss.count(spec).params == sum(p.numel() for p in model.parameters())


def test_same_seed_same_architectures() -> None:
    assert _samples(SMALL, 7, 5) == _samples(SMALL, 7, 5)
    assert _samples(SMALL, 7, 5) != _samples(SMALL, 8, 5)


def test_stable_hierarchical_parameter_names() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    sample(trial, SMALL)
    names = set(trial.params)
    assert {"stage0/kind", "stage3/kernel", "stage6/width", "stage2/repeats", "resolution"} <= names
    assert len(names) == 7 * 7 + 1


def test_choices_are_respected() -> None:
    space = SMALL.with_choices(kinds=("ghost",), kernels=(5,), acts=("hswish",))
    for spec in _samples(space, 0, 5):
        assert {s.block.kind for s in spec.stages} == {"ghost"}
        assert {(s.block.kernel, s.block.act) for s in spec.stages} == {(5, "hswish")}


def test_sampling_is_fast() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trials = [study.ask() for _ in range(50)]
    start = time.perf_counter()
    for trial in trials:
        sample(trial, SMALL)
    assert (time.perf_counter() - start) / 50 < 0.010


def test_size() -> None:
    stage = StageSpace(stride=1, out_chs=16, repeats=1)
    assert stage.repeat_options == (1, 2)  # 1-1 clamps to 1
    assert stage.size() == 3 * 3 * 4 * 2 * 3 * 2 * 3
    assert SMALL.size() == 2 * __import__("math").prod(s.size() for s in SMALL.stages)


def test_json_round_trip_and_errors() -> None:
    assert SearchSpace.from_dict(SMALL.to_dict()) == SMALL
    bad = SMALL.to_dict()
    bad["stages"][2]["kernels"] = [3, 4]
    with pytest.raises(ss.SpecError) as info:
        SearchSpace.from_dict(bad)
    assert info.value.field == "stages[2].kernels[1]"
    with pytest.raises(ss.SpecError, match="kinds"):
        StageSpace(stride=1, out_chs=8, repeats=1, kinds=("fire",))


@given(st.integers(0, 2**31 - 1))
@settings(max_examples=30, deadline=None)
def test_params_of_gives_the_suggestions_that_sample_turns_into_the_spec(seed: int) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    spec = sample(study.ask(), SMALL)
    params = params_of(SMALL, spec)
    study.enqueue_trial(params)
    assert sample(study.ask(), SMALL) == spec  # the enqueued trial rebuilds the spec
    assert set(params) == {f"stage{i}/{n}" for i in range(len(SMALL.stages))
                           for n in ("kind", "width", "kernel", "expansion", "se_ratio", "act", "repeats")} | {
        "resolution"}


def test_params_of_names_what_the_space_does_not_offer() -> None:
    spec = _samples(SMALL, 0, 1)[0]
    narrow = SMALL.with_choices(kernels=tuple(k for k in (3, 5, 7) if k != spec.stages[0].block.kernel))
    with pytest.raises(ss.SpecError) as info:
        params_of(narrow, spec)
    assert info.value.field == "stages[0].block"
    with pytest.raises(ss.SpecError) as info:
        params_of(SearchSpace(resolutions=(64,), in_chans=1, num_classes=10, stem_stride=1), spec)
    assert info.value.field == "resolution"
