"""Connecting to Ray: a bounded local instance without dashboard, or an existing cluster via RAY_ADDRESS."""

from __future__ import annotations

import os


def ensure_ray(num_cpus: int) -> None:
    """Start (or join) Ray once per process. Local Ray binds to loopback and sends no usage statistics."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DISABLE_DOCKER_CPU_WARNING", "1")
    import ray

    if ray.is_initialized():
        return
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    else:
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
        )


def cluster_cpus() -> int:
    """CPUs Ray can schedule on (the local bound, or the whole cluster)."""
    import ray

    return int(ray.cluster_resources().get("CPU", 1))
