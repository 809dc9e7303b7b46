"""The interactive API docs (/docs: Swagger UI, /redoc: Redoc) and the static files, all from our own
origin: the vendored front-end files in api/web/static/vendor (tools/vendor-assets puts them there before
the build; they are in the wheel). No CDN, no outside favicon; without the vendored files the docs pages
say how to get them."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.authorization import PUBLIC, allow
from api.paths import root_of
from api.resources import STATIC_DIR, VENDOR_DIR

FAVICON = "/static/app/favicon.svg"
_MISSING = (
    "<!doctype html><title>Launch Gate API</title><p>The API documentation viewer is not installed: run "
    "<code>tools/vendor-assets</code> before building or installing. The API description is at "
    '<a href="{root}/openapi.json">{root}/openapi.json</a>.</p>'
)


def install_static_and_docs(app: FastAPI) -> None:
    app.mount("/static/app", StaticFiles(directory=STATIC_DIR), name="static-app")
    if VENDOR_DIR.is_dir():
        app.mount("/static/vendor", StaticFiles(directory=VENDOR_DIR), name="static-vendor")
    swagger = (VENDOR_DIR / "swagger-ui" / "swagger-ui-bundle.js").is_file()
    redoc = (VENDOR_DIR / "redoc" / "redoc.standalone.js").is_file()

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(allow(PUBLIC))])
    def docs(request: Request) -> HTMLResponse:
        root = root_of(request.scope)
        if not swagger:
            return HTMLResponse(_MISSING.format(root=root), status_code=503)
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="Launch Gate API",
            swagger_js_url=f"{root}/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url=root + FAVICON,
        )

    @app.get("/redoc", include_in_schema=False, dependencies=[Depends(allow(PUBLIC))])
    def redoc_page(request: Request) -> HTMLResponse:
        root = root_of(request.scope)
        if not redoc:
            return HTMLResponse(_MISSING.format(root=root), status_code=503)
        return get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title="Launch Gate API",
            redoc_js_url=f"{root}/static/vendor/redoc/redoc.standalone.js",
            redoc_favicon_url=root + FAVICON,
            with_google_fonts=False,
        )
