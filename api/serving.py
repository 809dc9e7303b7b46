"""`launchgate serve`: uvicorn with the settings an operator sets (proxies, root path, log level, start
timeout of the server processes)."""

from __future__ import annotations

from collections.abc import Callable

from api.logs import logging_config
from api.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, object]:
    """The keyword arguments of uvicorn.run for these settings.

    Proxy headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from the proxies named in
    forwarded_allow_ips; by default from none, so the client address (and the per-address sign-in limit)
    is the connection's own, even from loopback (uvicorn alone would trust loopback)."""
    proxies = settings.forwarded_allow_ips.strip()
    return {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "log_level": settings.log_level,
        "root_path": settings.root_path,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
        "timeout_worker_healthcheck": settings.worker_start_timeout,
        "log_config": logging_config(settings.log_level, settings.log_format),
        "access_log": False,  # api/observe.py writes the access log, with the request id
    }


def serve_forever(settings: Settings, *, echo: Callable[[str], None]) -> None:
    import uvicorn

    options = uvicorn_options(settings)
    base = f"http://{settings.host}:{settings.port}{settings.root_path}"
    echo(f"Launch Gate on {base}  (API docs: {base}/docs)")
    uvicorn.run("api.app:app_from_environment", **options)  # type: ignore[arg-type]
