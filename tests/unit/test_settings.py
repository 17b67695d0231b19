"""Settings: every one documented in .env.example, every default runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from taskstream.settings import Settings

EXAMPLE = Path(__file__).parents[2] / ".env.example"


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = set(re.findall(r"^TASKSTREAM_([A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    assert listed == {name.upper() for name in Settings.model_fields}


def test_the_example_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TASKSTREAM_"):
            monkeypatch.delenv(name)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for line in EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            if value:
                monkeypatch.setenv(name, value)
    assert Settings(_env_file=None) == defaults  # type: ignore[call-arg]


def test_a_generated_secret_is_kept_and_a_short_one_refused(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    first = settings.signing_secret()
    assert len(first) >= 48
    assert settings.signing_secret() == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0
    short = Settings(_env_file=None, jwt_secret="too short")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="at least 32 bytes"):
        short.signing_secret()
