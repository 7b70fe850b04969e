"""ASGI middleware: the body-size cap, JSON bodies in UTF-8 only, unexpected errors as a JSON 500 on a connection
that stays open, and ``Allow`` listing every method of a path (OPTIONS answered, 405s corrected)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping

from fastapi import status
from fastapi.responses import JSONResponse, Response
from starlette.routing import BaseRoute, get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:
    from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x keeps included routers as one route
except ImportError:  # older FastAPI copies the included routes into the app's list

    def iter_route_contexts(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:  # type: ignore[misc]
        return iter(routes)

log = logging.getLogger("api")


class _Tracked:
    """A ``send`` that remembers whether the response has started (after that, no other response can be sent)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: 413 for a request body above ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int, by_path: Mapping[str, int] | None = None) -> None:
        """``by_path``: other limits for some exact paths (device profiles are larger than configs)."""
        self.app = app
        self.max_bytes = max_bytes
        self.by_path = dict(by_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._reject(send, limit)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        tracked = _Tracked(send)
        try:
            await self.app(scope, counting_receive, tracked)
        except BodyTooLarge:
            if not tracked.started:
                await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        setting = "NAS_MAX_BODY_BYTES" if limit == self.max_bytes else "NAS_MAX_PROFILE_BYTES"
        response = JSONResponse({"detail": f"request body above {limit} bytes ({setting})"},
                                status_code=status.HTTP_413_CONTENT_TOO_LARGE)
        await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


class JsonCharset:
    """ASGI middleware: 415 for a JSON body declaring a charset other than UTF-8 (``application/json;
    charset=nope``): JSON is UTF-8 (RFC 8259), so any other declared encoding is a mistake the body would be
    misread by, not a choice."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            declared = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1")
            charset = _json_charset(declared)
            if charset is not None and charset not in ("utf-8", "utf8"):
                detail = [{"loc": ["header", "content-type"], "field": "content-type", "type": "unsupported_charset",
                           "msg": f"a JSON body is UTF-8: charset {charset[:40]!r} is not supported"}]
                await JSONResponse({"detail": detail}, status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)(
                    scope, _no_body, send)
                return
        await self.app(scope, receive, send)


def _json_charset(content_type: str) -> str | None:
    """The charset a JSON content type declares, lower-cased and unquoted; None for another media type or none."""
    media, *params = (part.strip() for part in content_type.split(";"))
    media = media.lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


class ServerErrors:
    """An exception no handler took becomes a JSON 500, logged with its traceback, and is not re-raised: the
    server keeps the keep-alive connection (Starlette's own handler re-raises, and uvicorn then drops it).

    Outermost of the app's middleware, so that the others (the body limit) see their own exceptions first.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = _Tracked(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if tracked.started:  # half a response is out: only closing the connection can tell the client
                raise
            response = JSONResponse({"detail": "internal server error (logged); please report it"},
                                    status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)
            await response(scope, receive, send)


class AllowedMethods:
    """``OPTIONS`` on a path answers 204 with ``Allow`` listing the methods of every route on it, and a 405 gets
    that same full list (Starlette names only the first matching route's methods)."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes
        self._table: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def allowed(self, scope: Scope) -> set[str]:
        """The methods of the routes whose path matches (with OPTIONS), or none when no route does."""
        if self._table is None:  # built at the first request, once every route is in
            self._table = [(r.path_regex, frozenset(r.methods)) for r in iter_route_contexts(self.routes)
                           if getattr(r, "path_regex", None) is not None and getattr(r, "methods", None)]
        path = get_route_path(scope)
        methods = {m for regex, route_methods in self._table if regex.match(path) for m in route_methods}
        return methods | {"OPTIONS"} if methods else methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            methods = self.allowed(scope)
            if methods:
                await Response(status_code=status.HTTP_204_NO_CONTENT,
                               headers={"Allow": ", ".join(sorted(methods))})(scope, receive, send)
                return

        async def full_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == status.HTTP_405_METHOD_NOT_ALLOWED:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                allow = ", ".join(sorted(self.allowed(scope))).encode()
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, full_allow)
