"""The ports over a Dapr sidecar's HTTP API: the adapters of the distributed shape.

Every call goes to the service's own `daprd` on loopback; Dapr brings the rest (Kafka for
pub/sub, the Dapr scheduler for jobs, PostgreSQL for state, a secret store, service
invocation). The sidecar answers with plain HTTP statuses, mapped here to the ports'
exceptions: a conflict is `ETagMismatch`, anything else unexpected is `DaprError` (the
caller retries: the bus redelivers, the relay publishes again).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, NamedTuple

import httpx

from taskstream.app.events import CloudEvent, EventType, MalformedEvent, Topic
from taskstream.app.ports import (
    BatchHandler,
    Clock,
    DeadLetterStore,
    Drop,
    ETagMismatch,
    EventHandler,
    Job,
    JobHandler,
    StateItem,
)
from taskstream.observability import metrics, trace

log = logging.getLogger(__name__)

Status = Literal["SUCCESS", "RETRY", "DROP"]
CLOUDEVENTS_JSON: Final = "application/cloudevents+json"
BULK_SUBSCRIBE: Final = {"enabled": True, "maxMessagesCount": 100, "maxAwaitDurationMs": 50}
"""How daprd hands the events of a topic subscribed in bulk to the app: what it gathered
of one partition within 50 ms, up to 100 events a request."""
BULK_AWAIT_MS: Final = {Topic.TASK_EVENTS.value: 250}
"""Topics gathered for longer. The facts feed work a person does not watch happen (the
activity log, reminder schedules, a series' next task): gathered for 250 ms, a request
carries about 8 events at 100 writes/s instead of about 2: audit, reminders and recurring
with their sidecars went from 40% to 21% of a core (bench/distributed.py). Due reminders
are on their way to a person."""
AT_ONCE: Final = frozenset({Topic.TASK_UPDATES.value})
"""The topics delivered one event per request, the moment it arrives: the live updates,
which a person waits to see. Every other topic is subscribed in bulk."""
TOKEN_HEADER: Final = "dapr-api-token"  # noqa: S105 - a header name, not a secret


def _bulk_options(topic: str) -> dict[str, Any]:
    """The `bulkSubscribe` of a topic subscribed in bulk."""
    if topic in BULK_AWAIT_MS:
        return {**BULK_SUBSCRIBE, "maxAwaitDurationMs": BULK_AWAIT_MS[topic]}
    return BULK_SUBSCRIBE


class DaprError(Exception):
    """The sidecar refused or failed a call; the call may succeed later."""


def _failed(response: httpx.Response, what: str) -> DaprError:
    return DaprError(f"{what}: daprd answered {response.status_code} {response.text[:300]}")


class Sidecar:
    """The HTTP API of this process's `daprd`, on 127.0.0.1."""

    def __init__(self, port: int, token: str | None = None, *, timeout: float = 10.0) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={TOKEN_HEADER: token} if token else {},
            timeout=timeout,
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def secrets(self, store: str, keys: list[str], *, wait: float = 30.0) -> dict[str, str]:
        """Read `keys` from the secret store, waiting up to `wait` s for the sidecar."""
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            try:
                return {key: await self._secret(store, key) for key in keys}
            except (httpx.TransportError, DaprError):
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                await asyncio.sleep(0.5)

    async def _secret(self, store: str, key: str) -> str:
        response = await self.http.get(f"/v1.0/secrets/{store}/{key}")
        if response.status_code != 200:
            raise _failed(response, f"reading secret {key!r} from {store!r}")
        value = response.json().get(key)
        if not isinstance(value, str) or not value:
            raise DaprError(f"secret {key!r} of {store!r} is empty")
        return value


# --- pub/sub --------------------------------------------------------------------------------


def dead_letter_topic(app_id: str, topic: Topic) -> str:
    """Where `app_id`'s deliveries from `topic` go once its retries are spent."""
    return f"dead-letters.{app_id}.{topic.value}"


class _Handler(NamedTuple):
    name: str
    types: frozenset[EventType]
    one: EventHandler
    batch: BatchHandler | None


class DaprEventBus:
    """Publishes through the sidecar to the pub/sub component; takes deliveries from it.

    An app has one Dapr subscription per topic, routed to `/events/{topic}`, with its own
    dead-letter topic; `deliver` hands the event to every handler of this app subscribed to
    its type and answers Dapr: SUCCESS when all are done, DROP for a message no retry can
    help, RETRY otherwise (daprd retries per the resiliency policy, then dead-letters it).
    Handlers are idempotent, so a retry after a partial success does no harm.

    A topic not in `AT_ONCE` is subscribed in bulk instead (`BULK_SUBSCRIBE`, routed to
    `/events/{topic}/bulk`): one request for many events, where a request per event cost
    the consumers most of their CPU. `deliver_bulk` hands a handler that takes batches
    (audit's) the events of a request at once, one write for many, and any other handler
    each event in turn, in order; it answers for each entry as above. A batch that fails
    goes to the handler one event at a time.
    """

    def __init__(self, sidecar: Sidecar, pubsub: str, app_id: str) -> None:
        self._sidecar = sidecar
        self._pubsub = pubsub
        self._app_id = app_id
        self._handlers: dict[str, list[_Handler]] = defaultdict(list)
        self._parking: dict[str, tuple[str, DeadLetterStore]] = {}
        self.delivered = 0

    async def publish(self, event: CloudEvent) -> None:
        response = await self._sidecar.http.post(
            f"/v1.0/publish/{self._pubsub}/{event.topic.value}",
            content=event.to_json(),
            headers={"content-type": CLOUDEVENTS_JSON},
            params={"metadata.partitionKey": event.partition_key},
        )
        if response.status_code != 204:
            raise _failed(response, f"publishing {event.id}")
        metrics.published(event.topic.value)

    async def publish_all(self, events: list[CloudEvent]) -> set[str]:
        """One bulk publish per topic: Kafka keeps the entries of a partition in order. The
        sidecar lists the entries it could not publish; later entries of their keys may
        have been published, and are published again (consumers skip what they saw)."""
        by_topic: dict[Topic, list[CloudEvent]] = defaultdict(list)
        for event in events:
            by_topic[event.topic].append(event)
        not_taken: set[str] = set()
        for topic, batch in by_topic.items():
            not_taken |= await self._bulk(topic, batch)
        return not_taken

    async def _bulk(self, topic: Topic, events: list[CloudEvent]) -> set[str]:
        entries = [
            {
                "entryId": event.id,
                "event": event.to_dict(),
                "contentType": CLOUDEVENTS_JSON,
                "metadata": {"partitionKey": event.partition_key},
            }
            for event in events
        ]
        try:
            response = await self._sidecar.http.post(
                f"/v1.0-alpha1/publish/bulk/{self._pubsub}/{topic.value}", json=entries
            )
        except httpx.TransportError as exc:
            log.warning("bulk publish to %s failed: %s", topic.value, exc)
            return {event.id for event in events}
        if response.status_code == 204:
            metrics.published(topic.value, len(events))
            return set()
        log.warning("bulk publish to %s: %s", topic.value, response.text[:300])
        failed = _failed_entries(response) or {event.id for event in events}
        metrics.published(topic.value, len({event.id for event in events} - failed))
        return failed

    def subscribe(
        self,
        name: str,
        topic: Topic,
        types: frozenset[EventType],
        handler: EventHandler,
        batch: BatchHandler | None = None,
    ) -> None:
        self._handlers[topic.value].append(_Handler(name, types, handler, batch))

    def park_dead_letters(self, app_id: str, topic: Topic, store: DeadLetterStore) -> None:
        """Take `app_id`'s dead letters of `topic` into `store`, for `dead-letters list`."""
        self._parking[dead_letter_topic(app_id, topic)] = (f"{app_id}.{topic.value}", store)

    def dapr_subscriptions(self) -> list[dict[str, Any]]:
        """The answer to daprd's GET /dapr/subscribe."""
        subscriptions: list[dict[str, Any]] = []
        for topic in self._handlers:
            subscription: dict[str, Any] = {
                "pubsubname": self._pubsub,
                "topic": topic,
                "route": f"/events/{topic}",
                "deadLetterTopic": dead_letter_topic(self._app_id, Topic(topic)),
            }
            if topic not in AT_ONCE:
                subscription.update(
                    route=f"/events/{topic}/bulk", bulkSubscribe=_bulk_options(topic)
                )
            subscriptions.append(subscription)
        subscriptions += [
            {"pubsubname": self._pubsub, "topic": topic, "route": f"/events/{topic}"}
            for topic in self._parking
        ]
        return subscriptions

    async def deliver(self, topic: str, body: bytes) -> Status:
        """Hand one delivery from daprd to the handlers of `topic`; the status to answer."""
        try:
            event = CloudEvent.from_json(body)
        except MalformedEvent as exc:
            log.warning("dropping a malformed message on %s: %s", topic, exc)
            return "DROP"
        if topic in self._parking:
            subscription, store = self._parking[topic]
            await store.park(subscription, event, "retries spent (dead-letter topic)", 0)
            metrics.dead_lettered(subscription)
            return "SUCCESS"
        status: Status = "SUCCESS"
        for handler in self._handlers.get(topic, ()):
            if event.type in handler.types and not await self._handle(topic, handler, event):
                status = "RETRY"
        if status == "SUCCESS":
            self.delivered += 1
        return status

    async def deliver_bulk(self, topic: str, body: bytes) -> list[dict[str, str]]:
        """Hand a bulk delivery from daprd to the handlers of `topic`: all its events at
        once to a handler that takes batches, each in turn to the others. The status of
        each entry, as `deliver` answers for one event."""
        statuses: dict[str, Status] = {}
        events: list[tuple[str, CloudEvent]] = []
        for entry_id, event in _bulk_entries(topic, body):
            statuses[entry_id] = "DROP" if event is None else "SUCCESS"
            if event is not None:
                events.append((entry_id, event))
        for handler in self._handlers.get(topic, ()):
            mine = [(entry_id, event) for entry_id, event in events if event.type in handler.types]
            if not mine:
                continue
            if handler.batch is not None:
                try:
                    await handler.batch([event for _, event in mine])
                except Exception:
                    log.warning(
                        "%s failed on a batch of %d events; handling them one by one",
                        handler.name,
                        len(mine),
                        exc_info=True,
                    )
                else:
                    metrics.consumed(topic, handler.name, "handled", len(mine))
                    continue
            for entry_id, event in mine:
                if not await self._handle(topic, handler, event):
                    statuses[entry_id] = "RETRY"
        self.delivered += sum(statuses[entry_id] == "SUCCESS" for entry_id, _ in events)
        return [{"entryId": entry_id, "status": status} for entry_id, status in statuses.items()]

    async def _handle(self, topic: str, handler: _Handler, event: CloudEvent) -> bool:
        """Hand one event to one handler; False if it failed (a retry may help)."""
        try:
            with trace.use(event.traceparent):
                await handler.one(event)
        except Drop as exc:
            log.warning("%s dropped event %s: %s", handler.name, event.id, exc)
            metrics.consumed(topic, handler.name, "dropped")
        except Exception:
            log.exception("%s failed on event %s; Dapr will retry it", handler.name, event.id)
            metrics.consumed(topic, handler.name, "failed")
            return False
        else:
            metrics.consumed(topic, handler.name, "handled")
        return True


def _bulk_entries(topic: str, body: bytes) -> list[tuple[str, CloudEvent | None]]:
    """The entries of a bulk delivery: each entry's id and its event (None: not one of
    ours, to be dropped)."""
    try:
        envelope = json.loads(body)
        entries = envelope["entries"]
        if not isinstance(entries, list):
            raise TypeError("entries is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("a bulk delivery on %s that is not one: %s", topic, exc)
        return []
    found: list[tuple[str, CloudEvent | None]] = []
    for entry in entries:
        if not isinstance(entry, dict) or "entryId" not in entry:
            log.warning("a bulk delivery on %s has an entry without an id", topic)
            continue
        raw = entry.get("event")
        try:
            if isinstance(raw, dict):
                event: CloudEvent | None = CloudEvent.from_dict(raw)
            elif isinstance(raw, str | bytes):
                event = CloudEvent.from_json(raw)
            else:
                raise MalformedEvent("no event")
        except MalformedEvent as exc:
            log.warning("dropping a malformed message on %s: %s", topic, exc)
            event = None
        found.append((str(entry["entryId"]), event))
    return found


def _failed_entries(response: httpx.Response) -> set[str]:
    try:
        body = response.json()
        return {str(entry["entryId"]) for entry in body.get("failedEntries") or []}
    except (ValueError, KeyError, TypeError, AttributeError):
        return set()


# --- jobs -----------------------------------------------------------------------------------


def dapr_job_name(name: str) -> str:
    """Dapr job names are DNS subdomains: ours (`reminder/<task>/<moment>`) become a readable
    part and a digest of the whole name. The job's data keeps the name itself."""
    readable = re.sub(r"[^a-z0-9]+", "-", name.lower())[:120].strip("-")
    digest = hashlib.sha256(name.encode()).hexdigest()[:20]
    return f"{readable}.{digest}" if readable else digest


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DaprScheduler:
    """The scheduler port over the Dapr Jobs API (the Dapr scheduler keeps the jobs).

    The sidecar calls POST /job/{name} when a job falls due; a failing trigger is retried
    `retries` times, `retry_interval` apart (the job's failure policy)."""

    def __init__(
        self,
        sidecar: Sidecar,
        clock: Clock,
        *,
        retry_interval: str = "2s",
        retries: int = 60,
    ) -> None:
        self._sidecar = sidecar
        self._clock = clock
        self._handlers: list[tuple[str, JobHandler]] = []
        self._failure_policy = {"constant": {"interval": retry_interval, "maxRetries": retries}}
        self.fired = 0

    def on_fire(self, prefix: str, handler: JobHandler) -> None:
        self._handlers.append((prefix, handler))

    async def schedule(self, name: str, due_at: datetime, payload: dict[str, Any]) -> None:
        body = {
            "dueTime": _iso(due_at),
            "data": {"name": name, "due_at": _iso(due_at), "payload": payload},
            "overwrite": True,
            "failurePolicy": self._failure_policy,
        }
        response = await self._sidecar.http.post(
            f"/v1.0-alpha1/jobs/{dapr_job_name(name)}", json=body
        )
        if response.status_code != 204:
            raise _failed(response, f"scheduling job {name}")

    async def cancel(self, name: str) -> None:
        response = await self._sidecar.http.delete(f"/v1.0-alpha1/jobs/{dapr_job_name(name)}")
        if response.status_code not in (200, 204, 404):
            raise _failed(response, f"cancelling job {name}")

    async def fire(self, data: dict[str, Any]) -> None:
        """Run the handler of a job the sidecar triggered; raises to have it retried."""
        try:
            job = Job(
                name=str(data["name"]),
                due_at=datetime.fromisoformat(str(data["due_at"])),
                payload=dict(data["payload"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise Drop(f"a job trigger that is not ours: {exc}") from exc
        handler = next((h for prefix, h in self._handlers if job.name.startswith(prefix)), None)
        if handler is None:
            raise Drop(f"no handler for job {job.name}")
        early = (job.due_at - self._clock.now()).total_seconds()
        if early > 0:  # another machine's clock: never run a job before its moment
            await asyncio.sleep(min(early, 5.0))
        metrics.reminder_late((self._clock.now() - job.due_at).total_seconds())
        await handler(job)
        self.fired += 1


# --- state ----------------------------------------------------------------------------------


class DaprStateStore:
    """The state port over a Dapr state store. Keys travel in bodies, never in URLs.

    Dapr scopes keys by app id, so each service sees only its own state."""

    def __init__(self, sidecar: Sidecar, store: str) -> None:
        self._sidecar = sidecar
        self._store = store

    async def get(self, key: str) -> StateItem | None:
        response = await self._sidecar.http.post(
            f"/v1.0/state/{self._store}/bulk", json={"keys": [key], "parallelism": 1}
        )
        if response.status_code != 200:
            raise _failed(response, f"reading state {key!r}")
        for item in response.json():
            if item.get("key") == key and item.get("error"):
                raise DaprError(f"reading state {key!r}: {item['error']}")
            if item.get("key") == key and isinstance(item.get("data"), dict):
                return StateItem(item["data"], str(item.get("etag") or ""))
        return None

    async def set(
        self,
        key: str,
        value: dict[str, Any],
        etag: str | None = None,
        *,
        first_write: bool = False,
        ttl: timedelta | None = None,
    ) -> None:
        item: dict[str, Any] = {"key": key, "value": value}
        if etag is not None:
            item["etag"] = etag
        if etag is not None or first_write:
            item["options"] = {"concurrency": "first-write"}
        if ttl is not None:  # the store deletes the item then (its cleanupInterval)
            item["metadata"] = {"ttlInSeconds": str(max(1, math.ceil(ttl.total_seconds())))}
        response = await self._sidecar.http.post(f"/v1.0/state/{self._store}", json=[item])
        self._check(response, f"saving state {key!r}", key)

    async def delete(self, key: str, etag: str | None = None) -> None:
        request: dict[str, Any] = {"key": key}
        if etag is not None:
            request["etag"] = etag
            request["options"] = {"concurrency": "first-write"}
        response = await self._sidecar.http.post(
            f"/v1.0/state/{self._store}/transaction",
            json={"operations": [{"operation": "delete", "request": request}]},
        )
        self._check(response, f"deleting state {key!r}", key)

    @staticmethod
    def _check(response: httpx.Response, what: str, key: str) -> None:
        if response.status_code in (200, 201, 204):
            return
        # An ETag that no longer matches answers 409; a first write over an existing key
        # (PostgreSQL store: an insert that found the key) answers 500 "no item was updated".
        text = response.text.lower()
        if response.status_code == 409 or "etag mismatch" in text or "no item was" in text:
            raise ETagMismatch(key)
        raise _failed(response, what)


# --- service invocation ---------------------------------------------------------------------


class DaprTaskCommands:
    """`TaskCommands` of the `recurring` service as Dapr service invocation of `api`."""

    def __init__(self, sidecar: Sidecar, api_app_id: str) -> None:
        self._sidecar = sidecar
        self._api = api_app_id

    async def create_next_occurrence(self, owner_id: str, task_id: str) -> dict[str, Any] | None:
        response = await self._sidecar.http.post(
            f"/v1.0/invoke/{self._api}/method/internal/v1/tasks/{task_id}/next-occurrence",
            content=json.dumps({"owner_id": owner_id}),
            headers={"content-type": "application/json"},
        )
        if response.status_code == 404:
            raise Drop(f"task {task_id} of {owner_id} is gone")
        if response.status_code != 200:
            raise _failed(response, f"creating the next occurrence of {task_id}")
        task = response.json().get("task")
        return task if isinstance(task, dict) else None
