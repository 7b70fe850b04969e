"""docker-compose.yml and the Dockerfile: the services, their healthchecks and environment, and that they run
the entry points the end-to-end test runs. (``docker compose config`` also checks it where Compose exists.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from store.settings import Settings
from tests.service_process import API, DRIVER
from tests.workers import ray_nodes

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _command(service: str) -> str:
    command = SERVICES[service]["command"]
    return command if isinstance(command, str) else " ".join(command)


def _entry(argv: list[str]) -> str:
    return " ".join(["python", *argv[1:]])  # the test runs them with this interpreter, compose with `python`


def test_services_and_healthchecks() -> None:
    assert set(SERVICES) == {"postgres", "ray-head", "ray-worker", "driver", "api"}
    for name, service in SERVICES.items():
        assert service["healthcheck"]["test"], name
    assert "pgdata" in COMPOSE["volumes"]


def test_services_run_the_end_to_end_tests_entry_points() -> None:
    assert _command("api").startswith(_entry(API).replace("127.0.0.1", "0.0.0.0"))
    assert _command("driver").endswith(f"exec {_entry(DRIVER)}")
    assert "ray start --head" in _command("ray-head") and "ray start --address=ray-head:6379" in _command("ray-worker")
    assert SERVICES["driver"]["environment"]["RAY_ADDRESS"] == "auto"


def test_every_ray_process_authenticates_with_one_shared_token() -> None:
    """Head, workers and the driver's node run with token authentication and the same (required) token."""
    tokens = set()
    for name in ("ray-head", "ray-worker", "driver"):
        env = SERVICES[name]["environment"]
        assert env["RAY_AUTH_MODE"] == "token", name
        tokens.add(env["RAY_AUTH_TOKEN"])
    assert len(tokens) == 1 and tokens.pop().startswith("${RAY_AUTH_TOKEN:?")  # no default: compose refuses
    assert "RAY_AUTH_TOKEN" not in SERVICES["api"]["environment"]  # the API never talks to Ray


def test_the_multinode_tests_start_ray_nodes_as_compose_does() -> None:
    head, worker = _command("ray-head").split(), _command("ray-worker").split()
    assert set(ray_nodes.HEAD_FLAGS) == {f for f in head if f.startswith("--") and not f.startswith("--port")}
    assert set(ray_nodes.WORKER_FLAGS) <= set(worker)


def test_ray_workers_scale() -> None:
    """``--scale ray-worker=N`` needs no fixed name and no host port on the worker."""
    worker = SERVICES["ray-worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["depends_on"]["ray-head"]["condition"] == "service_healthy"


def test_environment_is_shared_valid_and_documented() -> None:
    api_env, driver_env = SERVICES["api"]["environment"], SERVICES["driver"]["environment"]
    assert api_env["DATABASE_URL"] == driver_env["DATABASE_URL"]
    assert api_env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in api_env["DATABASE_URL"]
    fields = set(Settings.model_fields)
    for env in (api_env, driver_env):
        for key in env:
            if key.startswith("NAS_"):
                assert key[4:].lower() in fields, key
    assert SERVICES["api"]["ports"] == ["127.0.0.1:8000:8000"]  # published on the host's loopback only
    text = (ROOT / "docker-compose.yml").read_text()
    documented = "".join((ROOT / page).read_text() for page in ("README.md", "docs/guides/service.md",
                                                                  "docs/deployment.md"))
    for variable in set(re.findall(r"\$\{(\w+)", text)):
        assert variable in documented, f"{variable} is not documented (README, docs/guides/service.md, docs/deployment.md)"


def test_dockerfile_pins_the_cpu_torch_of_pyproject() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    pin = re.search(r'"torch==([\d.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert f"torch=={pin}" in dockerfile and "download.pytorch.org/whl/cpu" in dockerfile
    include = re.search(r"include = \[(.*?)\]", (ROOT / "pyproject.toml").read_text()).group(1)
    packages = re.findall(r'"(\w+)\*"', include)
    assert {"searchspace", "workers", "scaler", "store", "jobs", "api"} <= set(packages)
    for package in packages:  # every installed package is in the image
        assert f"COPY {package} ./{package}" in dockerfile


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker is not installed")
def test_docker_compose_config_accepts_it() -> None:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    env = {**os.environ, "RAY_AUTH_TOKEN": "0123456789abcdef"}
    done = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, check=False, env=env)
    assert done.returncode == 0, done.stderr


def test_the_kuberay_manifest_authenticates_every_ray_container_and_matches_the_pin() -> None:
    cluster, driver = yaml.safe_load_all((ROOT / "deploy" / "kuberay-raycluster.yaml").read_text())
    spec = cluster["spec"]
    pods = [spec["headGroupSpec"]["template"], *(g["template"] for g in spec["workerGroupSpecs"]), driver["spec"]["template"]]
    for pod in pods:
        for container in pod["spec"]["containers"]:
            env = {e["name"]: e for e in container["env"]}
            assert env["RAY_AUTH_MODE"]["value"] == "token", container["name"]
            assert env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "nas-ray-auth", "key": "token"}
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    pin = re.search(r'"ray\[tune\]>=([\d.]+),<([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    version = tuple(map(int, spec["rayVersion"].split(".")))
    assert tuple(map(int, pin.group(1).split("."))) <= version < tuple(map(int, pin.group(2).split(".")))
    assert f"--address={cluster['metadata']['name']}-head-svc:6379" in driver["spec"]["template"]["spec"]["containers"][0]["command"][-1]
