# syntax=docker/dockerfile:1
# One image for every taskstream service: `docker run IMAGE serve api` (or recurring,
# reminders, notifier, audit, sync) for the distributed shape, `docker run IMAGE up` (the
# default) for the embedded one. Build: docker build -t taskstream:dev .
ARG PYTHON_VERSION=3.12
ARG NODE_VERSION=22
ARG UV_VERSION=0.13.9

# --- the web app: a static export, when frontend/ exists ---------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS frontend
WORKDIR /src/frontend
# `frontend*` copies the folder's contents when it exists; pyproject.toml keeps the
# instruction valid when it does not (then there is nothing to build).
COPY pyproject.toml frontend* ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; fi \
    && mkdir -p out

# --- the Python environment, from uv.lock ------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ARG UV_VERSION
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable

# --- the runtime: Python, the environment and the web app; no compilers, no uv, no pip ---
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN python -m pip uninstall --yes --quiet pip \
    && groupadd --system --gid 10001 taskstream \
    && useradd --system --uid 10001 --gid taskstream --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin taskstream \
    && mkdir -p /app /data && chown taskstream:taskstream /data
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --from=frontend /src/frontend/out /app/frontend/out
ENV PATH=/app/.venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TASKSTREAM_HOST=0.0.0.0 TASKSTREAM_PORT=8000 TASKSTREAM_DATA_DIR=/data \
    TASKSTREAM_LOG_FORMAT=json
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TASKSTREAM_PORT', '8000'), timeout=2)"]
ENTRYPOINT ["taskstream"]
CMD ["up"]
