"""Writes the secrets of compose.yaml once into /secrets (a volume), readable by the
services only: secrets.json for the Dapr secret store, pg-password for PostgreSQL."""

import json
import os
import secrets
from pathlib import Path

home = Path("/secrets")
store = home / "secrets.json"
if not store.exists():
    password = secrets.token_urlsafe(24)
    dsn = f"taskstream:{password}@postgres:5432/taskstream"
    values = {
        "jwt-secret": secrets.token_urlsafe(48),
        "database-url": f"postgresql+asyncpg://{dsn}",
        "state-connection-string": f"postgres://{dsn}?sslmode=disable",
    }
    (home / "pg-password").write_text(password)
    store.write_text(json.dumps(values))
    for path in (store, home / "pg-password"):
        os.chmod(path, 0o644)
