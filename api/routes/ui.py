"""The web UI: one page (``/``) and its own static modules (``/ui/...``, from ``api/ui``), no CDN. The pages
read and write through the same REST API as any client; ``/ui/config.json`` tells them whether to ask for
a key (NAS_API_KEY for writes, NAS_READ_KEY for everything). These files are the same for every installation and
hold no data, so they stay open when reads need a key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from api.deps import SettingsDep
from jobs.registry import KINDS
from store import crud
from store.models import JobState

UI_DIR = Path(__file__).resolve().parents[1] / "ui"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


def _asset(name: str) -> FileResponse:
    """A file of ``api/ui`` by its bare name (no directories, known suffixes only); 404 for anything else."""
    path = UI_DIR / name
    if "/" in name or "\\" in name or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no UI file {name[:80]!r}")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("/")
def index() -> FileResponse:
    return _asset("index.html")


@router.get("/ui/config.json")
def ui_config(settings: SettingsDep) -> dict[str, Any]:
    """What the pages need to know of the service: whether mutating requests, and reads, need X-API-Key, the
    job kinds (from the registry: name, label, REST collection), the job states and what a search's trials can
    be sorted by (GET /v1/searches/{id}/trials?sort=)."""
    return {"api_key_required": settings.api_key is not None or settings.read_key is not None,
            "read_key_required": settings.read_key is not None,
            "kinds": [{"name": k.name, "label": k.label, "path": f"/v1/{k.path}"} for k in KINDS.values()],
            "job_states": [state.value for state in JobState],
            "active_states": [state.value for state in JobState if state.active],
            "trial_sort_keys": list(crud.SORTABLE)}


@router.get("/ui/{name}")
def asset(name: str) -> FileResponse:
    return _asset(name)
