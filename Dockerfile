# Launch Gate image: the same commands .ci/wheel-check tests (tools/vendor-assets, uv build --wheel, the
# wheel installed with the locked dependencies, launchgate db migrate / serve / worker). Non-root; data
# under /srv/launchgate/var (LAUNCHGATE_DATA_DIR); HEALTHCHECK on /readyz.
#   docker build -t launchgate .        docker compose up (see compose.yaml)

# ---- front-end assets: npm ci (package-lock.json, no install scripts) and copy into api/web/static/vendor
FROM node:22-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
COPY tools/vendor-assets tools/vendor-assets
RUN mkdir -p api/web/static && tools/vendor-assets

# ---- the wheel, and the locked dependencies it is installed with
FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
COPY . .
COPY --from=assets /src/api/web/static/vendor api/web/static/vendor
RUN uv build --wheel --out-dir /dist \
 && uv export --frozen --no-dev --extra postgres --no-emit-project --format requirements-txt -o /dist/requirements.txt

# ---- runtime: a virtualenv with the wheel, no source tree, no node_modules
FROM python:3.11-slim-bookworm
COPY --from=build /usr/local/bin/uv /usr/local/bin/uv
COPY --from=build /dist /dist
RUN uv venv /opt/launchgate \
 && uv pip install --no-cache --python /opt/launchgate/bin/python -r /dist/requirements.txt /dist/*.whl \
 && rm -rf /dist /usr/local/bin/uv \
 && useradd --system --create-home --home-dir /srv/launchgate launchgate
ENV PATH=/opt/launchgate/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LAUNCHGATE_HOST=0.0.0.0 \
    LAUNCHGATE_PORT=8000 \
    LAUNCHGATE_DATA_DIR=/srv/launchgate/var
USER launchgate
WORKDIR /srv/launchgate
VOLUME /srv/launchgate/var
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["launchgate", "serve"]
