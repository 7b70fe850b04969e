"""``python -m workers measure --architecture ID --service URL``: a stored architecture measured on this machine and
the figure stored against it in the service (POST /v1/architectures/{id}/measurements), beside the latency the
service holds for it (predicted from a device profile, or measured by its search).

In eager PyTorch the spec the service holds is built and timed; in onnxruntime and int8 the service's own ONNX
download (what a user deploys) is timed. Any HTTP client with httpx's interface will do (the tests pass the
service's TestClient)."""

from __future__ import annotations

import socket
import uuid
from typing import Any

from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from workers.latency.plain import PlainLatency, PlainLoop, time_onnx, time_spec
from workers.latency.record import from_figure

API_KEY_HEADER = "X-API-Key"


def add_service_flags(p: Any) -> None:
    """The flags that measure a stored architecture instead of a local model."""
    p.add_argument("--architecture", metavar="ID", help="a stored architecture of the service (--service): its "
                                                        "spec (eager) or its ONNX download is timed, and the figure "
                                                        "stored against it")
    p.add_argument("--service", metavar="URL", help="the service's base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--api-key", metavar="KEY", help="the service's NAS_API_KEY (needed to store the figure when it "
                                                    "sets one; default: the NAS_API_KEY environment variable)")
    p.add_argument("--source", help="what measured it, stored with the figure (default: this command and host)")
    p.add_argument("--no-store", action="store_true", help="print the comparison only; store nothing")


def _answer(response: Any, architecture_id: uuid.UUID, what: str) -> Any:
    """The response's JSON (or bytes); SpecError naming the flag to change otherwise."""
    code = response.status_code
    if code == 404:
        raise SpecError("--architecture", f"the service has no architecture {architecture_id}")
    if code == 401:
        raise SpecError("--api-key", f"the service refused to {what}: missing or wrong key")
    if code >= 400:
        raise SpecError("--service", f"the service answered {code} to {what}: {response.text[:300]}")
    return response


def _call(client: Any, method: str, path: str, architecture_id: uuid.UUID, what: str, **kwargs: Any) -> Any:
    import httpx

    try:
        return _answer(client.request(method, path, **kwargs), architecture_id, what)
    except httpx.HTTPError as err:
        raise SpecError("--service", f"cannot {what} at {client.base_url}: {err}") from None


def measure_stored(client: Any, architecture_id: str, loop: PlainLoop, source: str = "",
                   store: bool = True) -> tuple[PlainLatency, dict[str, Any]]:
    """Time architecture ``architecture_id`` of the service behind ``client`` by ``loop`` and (with ``store``)
    post the figure; the figure, and the architecture's latency with the stored measurement (``stored``: its
    response, None when not stored) and the ratio of the architecture's latency over the figure."""
    try:
        key = uuid.UUID(architecture_id)
    except (ValueError, TypeError, AttributeError):
        raise SpecError("--architecture", f"must be an architecture id (a UUID); got {architecture_id!r:.60}") from None
    arch = _call(client, "GET", f"/v1/architectures/{key}", key, "read the architecture").json()
    if arch.get("spec") is None:
        raise SpecError("--architecture", f"architecture {key} has no spec (its trial failed before sampling one)")
    spec = ArchSpec.from_dict(arch["spec"])
    if loop.runtime == "eager":
        figure = time_spec(spec, loop)
    else:
        onnx = _call(client, "GET", f"/v1/architectures/{key}/onnx", key, "download its ONNX").content
        figure = time_onnx(onnx, loop, (spec.in_chans, spec.resolution, spec.resolution))
    held = arch.get("latency_ms")
    out = {"architecture_id": str(key), "architecture_latency_ms": held,
           "latency_source": (arch.get("details") or {}).get("latency_source"),
           "ratio": None if held is None else held / figure.median_ms, "stored": None}
    if store:
        body = from_figure(figure, source or default_source()).to_dict()
        out["stored"] = _call(client, "POST", f"/v1/architectures/{key}/measurements", key,
                              "store the measurement", json=body).json()
    return figure, out


def default_source() -> str:
    return f"python -m workers measure on {socket.gethostname()[:100]}"


def client_for(service: str | None, api_key: str | None) -> Any:
    """An HTTP client of the service at ``service`` (with the key when given)."""
    import httpx

    if not service or not service.startswith(("http://", "https://")):
        raise SpecError("--service", f"give the service's base URL (http://HOST:PORT); got {service!r:.100}")
    headers = {API_KEY_HEADER: api_key} if api_key else {}
    return httpx.Client(base_url=service.rstrip("/"), headers=headers, timeout=120)
