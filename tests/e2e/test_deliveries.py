"""Webhook deliveries of the distributed shape through a crash of the notifier.

The notifier watches each delivery with a job of the Dapr scheduler; killed mid-send and
started again, it is the job's trigger through its sidecar that resumes the delivery.
"""

from __future__ import annotations

import httpx

from tests.clients import Json, reminded_at, webhook_receiver
from tests.conftest import eventually
from tests.e2e.conftest import E2E_ENV, RECEIVE_TIMEOUT_S, Distributed, NewUser

LEAD_S = 8.0
LEASE_S = float(E2E_ENV["TASKSTREAM_DELIVERY_LEASE_SECONDS"])


async def test_a_webhook_delivery_cut_short_by_killing_the_notifier_is_made_when_it_is_back(
    dist: Distributed, http: httpx.AsyncClient, new_user: NewUser
) -> None:
    ada = await new_user("ada")
    async with webhook_receiver() as hook:
        response = await http.post("/webhooks", headers=ada.headers, json={"url": hook.url})
        assert response.status_code == 201, response.text
        webhook_id = response.json()["id"]
        await reminded_at(http, ada, "Call the plumber", LEAD_S)

        async def sent() -> list[str]:
            return list(hook.deliveries)

        await eventually(sent, within=LEAD_S + RECEIVE_TIMEOUT_S)
        try:
            await dist.kill("notifier")  # its webhook request is in flight
        finally:
            hook.released.set()
            await dist.start("notifier")

        async def sent_again() -> bool:
            return len(hook.deliveries) >= 2

        await eventually(sent_again, within=LEASE_S + RECEIVE_TIMEOUT_S)

        async def delivered() -> list[Json]:
            response = await http.get(f"/webhooks/{webhook_id}/deliveries", headers=ada.headers)
            assert response.status_code == 200, response.text
            found: list[Json] = response.json()["data"]
            return found if found and found[0]["status"] == "delivered" else []

        [delivery] = await eventually(delivered, within=RECEIVE_TIMEOUT_S)
        assert [a["outcome"] for a in delivery["attempts"]] == ["HTTP 200"]
        # At least once: the request cut short, then the one that was answered.
        assert hook.deliveries == [delivery["id"], delivery["id"]]
