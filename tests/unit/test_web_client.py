"""The web app's typed API client is generated from the live OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

from taskstream.entrypoints.api.app import openapi_document

GENERATED = Path(__file__).parents[2] / "frontend" / "src" / "api" / "openapi.json"


def test_the_web_clients_document_is_the_live_one() -> None:
    committed = json.loads(GENERATED.read_text())
    assert committed == openapi_document(), (
        "The API changed since the web app's client was generated: run `make web-client` "
        "and commit frontend/src/api/."
    )
