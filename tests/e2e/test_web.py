"""The web app through the distributed shape's gateway, in a real Chromium.

Runs the browser tests tagged @gateway (sign-up and the session, a reminder's toast, live
changes between two tabs and nothing for another user, the phone-sized layout, the chat)
against this instance: pages from the api service, the inbox from notifier, live updates
from sync, reminders through the Dapr scheduler.
"""

from __future__ import annotations

import os
import subprocess

from tests.e2e.conftest import ROOT, Distributed

BROWSER_TIMEOUT_S = 1200.0


def test_the_web_app_works_through_the_gateway(dist: Distributed) -> None:
    result = subprocess.run(  # noqa: S603 -- our own script, literal arguments
        ["bash", str(ROOT / "scripts" / "web.sh"), "browser"],  # noqa: S607
        env={**os.environ, "TASKSTREAM_WEB_BASE_URL": dist.gateway},
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
        check=False,
    )
    report = result.stdout[-8000:] + result.stderr[-4000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout, report
