"""The throughput ceiling: a bare FastAPI app with one JSON endpoint, served like taskstream.

    python bench/bare_app.py --port 8001

It is served by the same functions as `taskstream up` (taskstream.entrypoints.server.serve
and serve_workers, hence the same UVICORN_OPTIONS), so the difference between the two is
what taskstream itself costs per request.
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI

from taskstream.entrypoints.server import serve, serve_workers


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
    parser.add_argument("--workers", type=int, default=1, help="processes, as taskstream's")
    args = parser.parse_args()
    if args.workers == 1:
        serve(create_app(), args.host, args.port)
    else:  # run from this directory: the workers import this module by name
        serve_workers("bare_app:create_app", args.host, args.port, None, workers=args.workers)


if __name__ == "__main__":
    main()
