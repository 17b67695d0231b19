"""Dead letters of the distributed shape: what a consumer's retries could not handle.

daprd sends such a delivery to the subscription's dead-letter topic
(`dead-letters.<service>.<topic>`); the api service parks it in its table, and
`taskstream dead-letters replay` publishes it again to its topic. Making audit fail for
its whole retry budget (minutes) would be slow, so the test puts the event on the
dead-letter topic itself, as daprd would.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import httpx

from tests.clients import create
from tests.conftest import eventually
from tests.e2e.conftest import ROOT, Distributed, NewUser, Sql

CLI = ROOT / ".venv" / "bin" / "taskstream"


async def test_a_dead_letter_is_parked_by_the_api_and_replayed_to_its_consumer(
    dist: Distributed, http: httpx.AsyncClient, new_user: NewUser, sql: Sql, tmp_path: object
) -> None:
    ada = await new_user("ada")
    task = await create(http, ada, "lost and found")
    (fact,) = [e for e in await sql.events(ada.id, "task-events") if e["type"] == "task.created"]
    # An event audit has never seen, as it would sit on audit's dead-letter topic.
    lost = {**fact, "id": str(uuid.uuid4())}
    async with dist.sidecar("api") as sidecar:
        published = await sidecar.post(
            "/v1.0/publish/pubsub/dead-letters.audit.task-events",
            json=lost,
            headers={"content-type": "application/cloudevents+json"},
            params={"metadata.partitionKey": ada.id},
        )
    assert published.status_code == 204, published.text

    async def parked() -> Any | None:
        return await sql.dead_letter(lost["id"])

    letter = await eventually(parked, within=60)
    assert (letter.subscription, letter.replayed_at) == ("audit.task-events", None)
    assert lost["id"] not in {row.event_id for row in await sql.activity(ada.id)}

    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
    env["TASKSTREAM_DAPR_HTTP_PORT"] = str(dist.dapr_http_port("api"))
    if dist.dapr_token:
        env["TASKSTREAM_DAPR_API_TOKEN"] = dist.dapr_token
    replay = await asyncio.create_subprocess_exec(
        str(CLI),
        "dead-letters",
        "replay",
        letter.id,
        env=env,
        cwd=str(tmp_path),  # no .env of the work tree
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await replay.communicate()
    assert replay.returncode == 0, output.decode()
    assert f"Replayed {letter.id}." in output.decode()

    async def audited() -> bool:
        return lost["id"] in {row.event_id for row in await sql.activity(ada.id)}

    await eventually(audited, within=60)
    replayed = await sql.dead_letter(lost["id"])
    assert replayed is not None
    assert replayed.replayed_at is not None
    # The original event was audited once, the replayed one once: nothing twice.
    events = [row.event_id for row in await sql.activity(ada.id) if row.task_id == task["id"]]
    assert sorted(events) == sorted({fact["id"], lost["id"]})
    print(f"dead letter parked and replayed: {letter.subscription}, audited once each")
