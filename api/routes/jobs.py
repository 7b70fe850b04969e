"""The routes every job kind has, made from its registry entry (``jobs.registry``): cancel and delete.

A kind's own router (create, list, get) calls ``lifecycle_routes`` with how it presents a job; cancelling and
deleting go through the kind (``JobKind.cancel``, ``JobKind.delete``: the row, what it owns and its studies).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from inspect import Parameter, Signature
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import API_KEY_RESPONSES, ApiKeyDep, SessionDep
from jobs.kind import JobKind
from store.settings import Settings

ToPublic = Callable[[Session, Any, Settings], BaseModel]


def _endpoint(fn: Callable[..., Any], id_name: str, name: str, returns: Any) -> Callable[..., Any]:
    """``fn(job_id, session, request)`` with the signature FastAPI reads: the path parameter named ``id_name``."""

    def endpoint(**kwargs: Any) -> Any:
        return fn(kwargs[id_name], kwargs["session"], kwargs["request"])

    endpoint.__signature__ = Signature([  # type: ignore[attr-defined]
        Parameter(id_name, Parameter.KEYWORD_ONLY, annotation=uuid.UUID),
        Parameter("session", Parameter.KEYWORD_ONLY, annotation=SessionDep),
        Parameter("request", Parameter.KEYWORD_ONLY, annotation=Request),
    ], return_annotation=returns)
    endpoint.__name__ = name
    return endpoint


def lifecycle_routes(router: APIRouter, kind: JobKind, *, id_name: str, to_public: ToPublic,
                     public: type[BaseModel], deletes: str = "", keeps: str = "") -> None:
    """``POST /{id}/cancel`` and ``DELETE /{id}`` of ``kind`` on ``router`` (whose prefix is the kind's path);
    ``deletes`` says what goes with a job besides its row and studies, ``keeps`` what stays."""
    missing = {404: {"description": f"no such {kind.label}"}}
    key = kind.name.replace("-", "_")

    def cancel(job_id: uuid.UUID, session: Session, request: Request) -> BaseModel:
        request.app.state.read_cache.invalidate((kind.name, job_id))
        return to_public(session, kind.cancel(session, job_id), request.app.state.settings)

    def delete(job_id: uuid.UUID, session: Session, request: Request) -> Response:
        request.app.state.read_cache.invalidate((kind.name, job_id))
        kind.delete(session, request.app.state.settings, job_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    router.add_api_route(
        f"/{{{id_name}}}/cancel", _endpoint(cancel, id_name, f"cancel_{key}", public), methods=["POST"],
        response_model=public, dependencies=[ApiKeyDep],
        responses={**API_KEY_RESPONSES, **missing, 409: {"description": "already finished"}},
        description=f"A queued {kind.label} is cancelled at once; a running one stops within seconds, keeping what "
                    "it finished.")
    router.add_api_route(
        f"/{{{id_name}}}", _endpoint(delete, id_name, f"delete_{key}", Response), methods=["DELETE"],
        status_code=status.HTTP_204_NO_CONTENT, dependencies=[ApiKeyDep],
        responses={**API_KEY_RESPONSES, **missing, 409: {"description": "still running"}},
        description=f"Delete a {kind.label} that is not running{deletes} and its Optuna studies.{keeps}")
