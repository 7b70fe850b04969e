"""Request dependencies: settings, a database session owning commit/rollback, the optional write and read keys."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Security, status
from fastapi.security import APIKeyHeader
from pydantic import SecretStr
from sqlalchemy.orm import Session

from store.db import Role, session_scope
from store.settings import Settings

API_KEY_HEADER = "X-API-Key"
Skip = Annotated[int, Query(ge=0, le=10**9, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=100, description="rows to return")]
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                        description="needed by every mutating endpoint when the service sets NAS_API_KEY, and by "
                                    "every endpoint (reads too) when it sets NAS_READ_KEY")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back when it raises."""
    with session_scope(settings.database_url, Role.API) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]  # commit before responding


def _check_key(key: str | None, *accepted: SecretStr | None) -> None:
    """401 unless ``key`` is one of the ``accepted`` keys that are set (each compared in constant time)."""
    given = (key or "").encode()
    matches = [hmac.compare_digest(given, secret.get_secret_value().encode()) for secret in accepted if secret]
    if key is None or not any(matches):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=f"missing or wrong {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": API_KEY_HEADER})


def require_api_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key)] = None) -> None:
    """401 unless the service has no write key (NAS_API_KEY), or the request's X-API-Key matches it."""
    if settings.api_key is not None:
        _check_key(key, settings.api_key)


def require_read_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key)] = None) -> None:
    """401 unless the service has no read key (NAS_READ_KEY), or the request's X-API-Key is it or the write key."""
    if settings.read_key is not None:
        _check_key(key, settings.read_key, settings.api_key)


ApiKeyDep = Depends(require_api_key)
ReadKeyDep = Depends(require_read_key)  # on every route but the probes and the UI's files, when NAS_READ_KEY is set
# documented responses: of every route behind the API key, and of every route taking a JSON body
API_KEY_RESPONSES = {401: {"description": "API key missing or wrong"}}
BODY_RESPONSES = {400: {"description": "the body cannot be read (not UTF-8, truncated)"},
                  413: {"description": "the body is larger than NAS_MAX_BODY_BYTES"}}
