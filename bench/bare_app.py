"""The throughput ceiling: a bare FastAPI app with one JSON endpoint, served like taskstream.

    python bench/bare_app.py --port 8001

It is served by the same function as `taskstream up` (taskstream.entrypoints.server.serve,
hence the same UVICORN_OPTIONS), so the difference between the two is what taskstream itself
costs per request.
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI

from taskstream.entrypoints.server import serve


def create_app() -> FastAPI:
    app = FastAPI(title="bare", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    serve(create_app(), args.host, args.port)


if __name__ == "__main__":
    main()
