"""Request dependencies: settings, a database session owning commit/rollback, the optional API key."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Security, status
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from store.db import Role, session_scope
from store.settings import Settings

API_KEY_HEADER = "X-API-Key"
Skip = Annotated[int, Query(ge=0, le=10**9, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=100, description="rows to return")]
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                        description="needed by every mutating endpoint when the service sets NAS_API_KEY")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back when it raises."""
    with session_scope(settings.database_url, Role.API) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]  # commit before responding


def require_api_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key)] = None) -> None:
    """401 unless the service has no key, or the request's X-API-Key matches it (constant-time comparison)."""
    expected = settings.api_key
    if expected is None:
        return
    if key is None or not hmac.compare_digest(key.encode(), expected.get_secret_value().encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=f"missing or wrong {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": API_KEY_HEADER})


ApiKeyDep = Depends(require_api_key)
# documented responses: of every route behind the API key, and of every route taking a JSON body
API_KEY_RESPONSES = {401: {"description": "API key missing or wrong"}}
BODY_RESPONSES = {400: {"description": "the body cannot be read (not UTF-8, truncated)"},
                  413: {"description": "the body is larger than NAS_MAX_BODY_BYTES"}}
