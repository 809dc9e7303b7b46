"""The root path a proxy serves Launch Gate under (`launchgate serve --root-path /lg`), uvicorn's meaning:
the proxy strips the prefix, the application routes on paths without it, and `scope["root_path"]` holds
it. Every URL the pages hand a browser (links, form actions, assets, redirects) and every cookie path is
built here, so each carries the prefix; paths kept inside the application (a sign-in's `next`) do not."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import Scope


def root_of(scope: Scope) -> str:
    """The prefix without a trailing slash ("" when served at the root)."""
    return str(scope.get("root_path", "")).rstrip("/")


def site_url(request: HTTPConnection, path: str) -> str:
    """The URL a browser uses for `path` (a path inside the application, starting with "/")."""
    return root_of(request.scope) + path


def cookie_path(scope: Scope, path: str = "/") -> str:
    """A cookie's Path for `path` inside the application."""
    return (root_of(scope) + path).rstrip("/") or "/"


def path_in_app(scope: Scope) -> str:
    """The request's path inside the application: the prefix removed."""
    path, root = str(scope["path"]), root_of(scope)
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :] or "/"
    return path


def app_path(request: HTTPConnection) -> str:
    """The path of this request inside the application (the prefix removed), with its query."""
    return path_in_app(request.scope) + (f"?{request.url.query}" if request.url.query else "")


def same_origin(request: HTTPConnection, origin: str) -> bool:
    """Whether an Origin header names this site: its scheme and host (a root path is no part of an
    origin, so comparing with the base URL would refuse every form under a prefix)."""
    return origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"
