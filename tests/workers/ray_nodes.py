"""A multi-node Ray cluster on this machine, started the way docker-compose starts one: ``ray start --head`` and
one ``ray start --address`` process per worker node, each with its own resources, all given
``RAY_AUTH_MODE=token`` and one shared ``RAY_AUTH_TOKEN``.

The nodes (and the drivers run against them) live in a private network namespace that holds nothing but
loopback: a node of a multi-node Ray cluster binds its listeners on all interfaces (only the single-node mode
of ``workers.runtime.cluster`` keeps them on 127.0.0.1), and in that namespace "all interfaces" is 127.0.0.1, so
nothing is reachable from any other address. PostgreSQL is reached through its unix socket. Needs root (CI runs
as root) and ``ip`` from iproute2.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[2]
# As docker-compose.yml's ray-head and ray-worker start them (tests/api/test_compose.py checks they agree):
HEAD_FLAGS = ("--head", "--num-cpus=0", "--include-dashboard=false", "--block")
WORKER_FLAGS = ("--block",)
BIN = Path(sys.executable).parent
PG_SOCKET_DIR = "/var/run/postgresql"
# Lose a killed node within a few seconds (Ray's defaults take about 15 s) so that tests stay short.
FAST_HEALTH = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
               "RAY_health_check_failure_threshold": "3", "RAY_health_check_initial_delay_ms": "500"}


def available() -> str:
    """Why a private network namespace cannot be made here ("" when it can)."""
    if os.geteuid() != 0:
        return "needs root for a private network namespace (ip netns)"
    if shutil.which("ip") is None:
        return "needs iproute2's ip"
    return ""


def unix_socket_url(tcp_url: str) -> str:
    """The same PostgreSQL database through the server's unix socket (reachable from the namespace)."""
    name = tcp_url.rsplit("/", 1)[1]
    return f"postgresql+psycopg://postgres@/{name}?host={PG_SOCKET_DIR}"


def session_pids(sid: int) -> list[int]:
    """The processes of session ``sid`` (a process started with ``start_new_session`` and its descendants)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:  # after "pid (comm)": state, ppid, pgrp, session
                pids.append(int(entry.name))
    return pids


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    log: Path

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


class LoopbackCluster:
    """A Ray head (no CPUs, like compose's ray-head) and worker nodes, in a loopback-only network namespace."""

    def __init__(self, token: str | None = None, port: int = 6379) -> None:
        self.ns = f"nas-{uuid.uuid4().hex[:10]}"
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.token = token or secrets.token_hex(32)
        self.dir = Path(tempfile.mkdtemp(prefix="nr", dir="/tmp"))  # short: Ray's socket paths must fit 107 chars
        (self.dir / "home").mkdir()
        self.nodes: dict[str, Node] = {}
        self.others: list[subprocess.Popen] = []
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.exec_ok(["ip", "link", "set", "lo", "up"])

    # --- processes in the namespace ---------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """Every process's environment: the token, a HOME without a saved token (so only the variable can let
        a process join), the project on PYTHONPATH (as the image has it), no inherited RAY_ADDRESS."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token, RAY_USAGE_STATS_ENABLED="0",
                   HOME=str(self.dir / "home"), PYTHONPATH=str(ROOT), PATH=f"{BIN}:{env.get('PATH', '')}",
                   **FAST_HEALTH)
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def exec_ok(self, argv: list[str], timeout: float = 60, **env: str) -> str:
        done = subprocess.run(["ip", "netns", "exec", self.ns, *argv], check=False, capture_output=True, text=True,
                              timeout=timeout, env=self.env(**env), cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    def spawn(self, argv: list[str], log: Path, **env: str) -> subprocess.Popen:
        """``argv`` in the namespace, in its own process group (so that killing it takes its children)."""
        with log.open("ab") as out:
            return subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], env=self.env(**env), cwd=self.dir,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def _ray_start(self, name: str, argv: list[str], hide: Path | None, **env: str) -> Node:
        command = [str(BIN / "ray"), "start", *argv, "--node-ip-address=127.0.0.1"]
        if hide is not None:  # this node's own mount namespace, where ``hide`` is an empty directory
            command = ["unshare", "--mount", "sh", "-c", 'mount -t tmpfs nas-hidden "$0" && exec "$@"',
                       str(hide), *command]
        log = self.dir / f"{name}.log"
        node = Node(name, self.spawn(command, log, **env), log)
        self.nodes[name] = node
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if not node.alive or time.monotonic() > deadline:
                raise RuntimeError(f"node {name} did not start: {log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        return node

    def start_head(self) -> Node:
        return self._ray_start("head", [*HEAD_FLAGS, f"--port={self.port}", "--disable-usage-stats",
                                        f"--temp-dir={self.dir / 'ray'}"], None)

    def add_node(self, name: str, cpus: int = 1, hide: Path | None = None, **env: str) -> Node:
        """A worker node of ``cpus`` CPUs and a resource named after it; ``hide``: a directory it cannot see."""
        resources = json.dumps({f"node-{name}": 1})
        return self._ray_start(name, [f"--address={self.address}", f"--num-cpus={cpus}", f"--resources={resources}",
                                      *WORKER_FLAGS], hide, **env)

    def kill_node(self, name: str) -> None:
        """The node dies at once, as a lost machine: SIGKILL to its ``ray start``, raylet and every Ray worker
        (the workers have process groups of their own, but stay in the node's session)."""
        node = self.nodes[name]
        for pid in session_pids(node.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        node.proc.wait(timeout=30)

    def node_ids(self) -> dict[str, str]:
        """Node name -> Ray node id, for every node the cluster has seen (dead ones too)."""
        script = (f"import json, ray; ray.init(address='{self.address}', log_to_driver=False); "
                  "print(json.dumps([[sorted(n['Resources']), n['NodeID']] for n in ray.nodes()]))")
        rows = json.loads(self.exec_ok([sys.executable, "-c", script]).strip().splitlines()[-1])
        out = {}
        for resources, node_id in rows:  # a dead node is listed without resources
            names = [r[5:] for r in resources if r.startswith("node-")] or (
                ["head"] if "node:__internal_head__" in resources else [])
            out.update({name: node_id for name in names})
        return out

    def listeners(self) -> list[str]:
        """Local addresses of every listening TCP socket in the namespace."""
        lines = self.exec_ok(["ss", "-ltnH"]).splitlines()
        return [line.split()[3] for line in lines if line.strip()]

    def close(self) -> None:
        """Kill everything in the namespace, then remove it and the temporary directory."""
        for proc in [*(n.proc for n in self.nodes.values()), *self.others]:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for _ in range(50):  # raylets and Ray workers that left their process group
            listed = subprocess.run(["ip", "netns", "pids", self.ns], check=False, capture_output=True, text=True)
            pids = listed.stdout.split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        for proc in [*(n.proc for n in self.nodes.values()), *self.others]:
            proc.wait(timeout=30)
        subprocess.run(["ip", "netns", "delete", self.ns], check=False)
        if os.environ.get("NAS_KEEP_CLUSTER_LOGS"):  # debugging: the nodes' and drivers' logs stay there
            shutil.copytree(self.dir, os.environ["NAS_KEEP_CLUSTER_LOGS"], dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("sockets", "*.sock"))
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
