"""The OpenAPI document tells the truth: Schemathesis drives `taskstream up` from it (every
phase, stateful included, every check, a fixed seed and a bounded number of examples)
and finds no server error and no response that the document does not describe.

The exclusions, each with its reason, are in schemathesis.toml next to this file. The
`object_level_authorization` check is not run: it needs a second user's credentials,
and tests/integration covers that no user ever reaches another's data."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 20261130
MAX_EXAMPLES = 8
"""Per operation and phase: about 3,200 requests, about 20 s on two quiet cores."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`taskstream up` on a fresh data directory, with the production defaults."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
    env["TASKSTREAM_DATA_DIR"] = str(tmp_path / "data")
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own executable, literal arguments
        [str(BIN / "taskstream"), "up", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "taskstream up did not get ready"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _token(base: str) -> str:
    user = {"email": "fuzz@example.com", "password": "correct horse battery staple"}
    with httpx.Client(base_url=f"{base}/api/v1", trust_env=False) as http:
        assert http.post("/auth/signup", json=user).status_code == 201
        response = http.post("/auth/login", json={k: user[k] for k in ("email", "password")})
        assert response.status_code == 200
        token: str = response.json()["access_token"]
        return token


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(
    server: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own tool, literal arguments
        [
            str(BIN / "st"),
            "--config-file",
            str(CONFIG),
            "run",
            f"{server}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {_token(server)}",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--seed",
            str(SEED),
            "--max-examples",
            str(MAX_EXAMPLES),
            # One worker: its workers are threads, and on Python 3.11 before 3.11.8 two
            # threads parsing source at once (Hypothesis does, to describe its lambdas)
            # can fail with "AST constructor recursion depth mismatch" (CPython
            # gh-106905). One worker runs as fast as two here: about 20 s.
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        check=False,
    )
    took = time.monotonic() - began
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    print(  # the figures of the run, for the record (pytest -s)
        f"schemathesis: {generated.group(1) if generated else '?'} requests generated, "
        f"seed {SEED}, {MAX_EXAMPLES} examples per operation and phase, {took:.0f} s"
    )
    assert result.returncode == 0, output[-20_000:]
