"""SearchConfig: choice enums that stay plain strings, a JSON form (and study name) pinned byte for byte, and
the ``search`` command line read from the dataclass fields."""

from __future__ import annotations

import enum
import json
import re
from dataclasses import replace

import pytest

from scaler.grid_config import GridConfig, grid_study_name
from searchspace import zoo
from searchspace.errors import SpecError
from searchspace.fields import choices, field_at
from workers.cli import FLAGS, OVERRIDES, build_config, build_parser, default_study_name
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.screening import Proxy
from workers.search import SearchConfig
from workers.search.config import Mode, Objective, Pruner, Reward, Sampler, Strategy, Task
from workers.training import TrainBudget, TrainDevice
from workers.training.budget import Optimizer

ODD = SearchConfig(dataset=DatasetConfig(format="digits", subset=0.5, seed=3),
                   budget=TrainBudget(optimizer="adamw", lr=3e-3, epochs=2), latency=LatencyConfig(threads=2),
                   objective="macs", mode="reward", target=3e6, reward="hard", sampler="tpe", pruner="none",
                   n_trials=7, seed=5, pruner_min_trials=4)


def test_study_names_are_pinned() -> None:
    """Stored configs and resumed studies depend on these bytes: a change here orphans every running study.

    The held-out test split (issue 33, ``dataset.test_fraction``, default 0.2) changed the default split and the
    config's bytes, so every name changed with it (before: search-eb90d54d1625, search-dd00447f90ad,
    grid-...-22842ffed82e, grid-...-32566adc1546). ``test_fraction=0`` has the old split under a new name."""
    assert default_study_name(SearchConfig()) == "search-63ceedaf9cb7"  # tpe + asha by default (issue 12)
    assert default_study_name(ODD) == "search-ef5f922ba40b"
    assert default_study_name(replace(ODD, baselines=())) == "search-ef5f922ba40b"  # they have a study of their own
    b0 = zoo.get("efficientnet_b0")
    assert grid_study_name(b0, GridConfig()) == "grid-efficientnet_b0-8651e5b3daa5"
    odd_grid = GridConfig(budget=TrainBudget(optimizer="adam"), dataset=DatasetConfig(format="digits"),
                          latency=None)
    assert grid_study_name(b0, odd_grid) == "grid-efficientnet_b0-5a4c0aa22fae"
    assert default_study_name(SearchConfig(dataset=DatasetConfig(test_fraction=0.0))) == "search-17b0a6ada139"


def test_choices_are_plain_strings_in_json_and_members_in_the_config() -> None:
    data = ODD.to_dict()
    for value in (data["objective"], data["mode"], data["reward"], data["sampler"], data["pruner"],
                  data["budget"]["optimizer"], data["dataset"]["format"]):
        assert type(value) is str
    assert SearchConfig.from_dict(json.loads(ODD.to_json())) == ODD
    assert ODD.mode is Mode.REWARD and ODD.mode == "reward" and ODD.budget.optimizer is Optimizer.ADAMW
    assert SearchConfig(mode=Mode.CONSTRAINT, target=1.0) == SearchConfig(mode="constraint", target=1.0)
    assert json.dumps({"mode": Mode.PARETO}) == '{"mode": "pareto"}'


@pytest.mark.parametrize(("make", "field"), [
    (lambda: SearchConfig(mode="bogus"), "mode"),
    (lambda: SearchConfig(sampler=1), "sampler"),
    (lambda: SearchConfig(pruner=None), "pruner"),
    (lambda: TrainBudget(optimizer="lion"), "optimizer"),
    (lambda: DatasetConfig(format="zip"), "format"),
    (lambda: LatencyConfig(device="cuda:x"), "device"),
    (lambda: LatencyConfig(device=0), "device"),
    (lambda: SearchConfig.from_dict({"budget": {"optimizer": "Adam"}}), "budget.optimizer"),
])
def test_a_bad_choice_names_the_field(make, field: str) -> None:
    with pytest.raises(SpecError) as info:
        make()
    assert info.value.field == field


def _search_actions() -> dict[str, object]:
    search = build_parser()._subparsers._group_actions[0].choices["search"]
    return {action.option_strings[0]: action for action in search._actions if action.option_strings}


def test_cli_choices_are_the_enums() -> None:
    actions = _search_actions()
    enums = {}
    for flag, path in FLAGS.items():
        _, kind, _ = field_at(SearchConfig, path)
        if isinstance(kind, type) and issubclass(kind, enum.StrEnum):
            enums[flag] = kind
            assert tuple(actions[flag].choices) == choices(kind), flag
        elif kind is bool:  # a switch: given or not
            assert actions[flag].nargs == 0 and actions[flag].const is True, flag
        else:
            expected = OVERRIDES.get(flag, {}).get("type", kind)
            assert actions[flag].choices is None and actions[flag].type is expected, flag
    assert enums == {"--objective": Objective, "--mode": Mode, "--sampler": Sampler, "--pruner": Pruner,
                     "--screen": Proxy, "--device": TrainDevice, "--strategy": Strategy, "--task": Task}


def test_cli_help_quotes_the_dataclass_defaults_and_descriptions() -> None:
    actions = _search_actions()
    for flag, path in FLAGS.items():
        field, _, default = field_at(SearchConfig, path)
        assert actions[flag].default is None  # not given: the config file's (or the dataclass's) value
        derived = f"{field.metadata['doc']} (default {'none' if default is None else default})"
        assert actions[flag].help == OVERRIDES.get(flag, {}).get("help", derived)
    assert re.search(r"\(default 20\)", actions["--trials"].help)


def test_cli_flags_override_the_config_file(tmp_path) -> None:
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"mode": "reward", "reward": "hard", "budget": {"lr": 0.05}}))
    args = build_parser().parse_args(["search", "--config", str(path), "--target", "5", "--epochs", "2",
                                      "--subset", "0.5", "--mode", "reward", "--pruner", "none"])
    config = build_config(args)
    assert config.mode is Mode.REWARD and config.target == 5.0 and config.reward is Reward.HARD
    assert config.budget == TrainBudget(lr=0.05, epochs=2) and config.dataset.subset == 0.5
    assert config.pruner is Pruner.NONE
    assert build_config(build_parser().parse_args(["search"])) == SearchConfig()
    with pytest.raises(SpecError) as info:  # the error names the flag the user typed
        build_config(build_parser().parse_args(["search", "--trials", "0"]))
    assert info.value.field == "--trials"


def test_flag_errors_name_the_flag_and_file_errors_the_field(tmp_path) -> None:
    def error(*argv: str) -> str:
        with pytest.raises(SpecError) as info:
            build_config(build_parser().parse_args(["search", *argv]))
        return str(info.value)

    assert error("--epochs", "0").startswith("--epochs: must be in [1, ")
    assert error("--subset", "2").startswith("--subset: ")
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"budget": {"epochs": 0}}))
    assert error("--config", str(path)).startswith("budget.epochs: ")  # the file's value: its path in the file
    assert error("--config", str(path), "--epochs", "-1").startswith("--epochs: ")


@pytest.mark.parametrize("none", ["none", "[]", "", "None"])
def test_baselines_none_on_the_command_line(none: str) -> None:
    config = build_config(build_parser().parse_args(["search", "--baselines", none]))
    assert config.baselines == ()
    assert "on the command line NAME,NAME or none (default mobilenet_v2," in _search_actions()["--baselines"].help
    assert build_config(build_parser().parse_args(["search", "--baselines", "mobilenet_v2, ghostnet_1_0"])).baselines \
        == ("mobilenet_v2", "ghostnet_1_0")


def test_asha_rungs_and_the_cpu_budget_from_the_cli() -> None:
    args = build_parser().parse_args(["search", "--pruner", "asha", "--epochs", "9", "--rung-eta", "3",
                                      "--rung-min-epochs", "1", "--cpu-budget", "1800"])
    config = build_config(args)
    assert config.pruner is Pruner.ASHA and config.cpu_budget_s == 1800.0
    assert config.rungs.milestones == (1, 3) and config.rungs.eta == 3
    assert SearchConfig.from_dict(config.to_dict()) == config
    for bad, name in (({"rung_eta": 1}, "rung_eta"), ({"rung_min_epochs": 0}, "rung_min_epochs"),
                      ({"cpu_budget_s": 0.5}, "cpu_budget_s")):
        with pytest.raises(SpecError) as info:
            SearchConfig(**bad)
        assert info.value.field == name


@pytest.mark.parametrize(("config_file", "flags", "batch"), [
    (None, ["--task", "detection", "--dataset", "builtin-boxes"], 16),  # the detection default
    ({"budget": {"epochs": 3}}, ["--task", "detection", "--dataset", "builtin-boxes"], 16),
    ({"task": "detection", "dataset": {"source": "builtin-boxes"}, "budget": {"batch_size": 64}}, [], 64),  # asked
    ({"budget": {"batch_size": 32}}, ["--task", "detection", "--dataset", "builtin-boxes"], 32),
    (None, [], TrainBudget().batch_size),  # classification keeps TrainBudget's
])
def test_a_detection_search_trains_at_batch_16_unless_it_asks_for_another(tmp_path, config_file: dict | None,
                                                                         flags: list[str], batch: int) -> None:
    from workers.search.detection_task import trial_recipe

    given = []
    if config_file is not None:
        (tmp_path / "search.json").write_text(json.dumps(config_file))
        given = ["--config", str(tmp_path / "search.json")]
    config = build_config(build_parser().parse_args(["search", *given, *flags]))
    assert config.budget.batch_size == batch
    assert SearchConfig.from_dict(json.loads(config.to_json())) == config  # the stored form keeps it
    if config.task is Task.DETECTION:
        assert trial_recipe(config).batch_size == batch  # trials train at the budget's batch as given


def test_kinds_flag_sets_every_stage_and_names_itself_in_errors() -> None:
    config = build_config(build_parser().parse_args(["search", "--kinds", "mbconv,ghost"]))
    assert all(stage.kinds == ("mbconv", "ghost") for stage in config.space.stages)
    assert config.space == SearchConfig().space.with_choices(kinds=("mbconv", "ghost"))
    with pytest.raises(SpecError) as info:
        build_config(build_parser().parse_args(["search", "--kinds", "mbconv,fire"]))
    assert info.value.field == "--kinds" and "mbconv" in info.value.message
