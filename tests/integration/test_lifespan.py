"""The app's lifespan: what it does around serving, beyond starting and stopping services."""

from __future__ import annotations

import gc

from taskstream.bootstrap import build
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings
from tests.conftest import AdjustableClock


async def test_what_start_up_built_is_left_out_of_full_collections_while_the_app_runs(
    settings: Settings, clock: AdjustableClock
) -> None:
    app = create_app(build(settings, clock=clock), migrate=False)
    thresholds = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 10_000  # modules, models, routes, the container
        assert gc.get_threshold()[0] > thresholds[0]  # young objects collected less often
    assert gc.get_freeze_count() == 0  # collectable again, as after any other app's end
    assert gc.get_threshold() == thresholds
