"""The outbox signal wakes only the relay loops of the topics a commit wrote to."""

from __future__ import annotations

from taskstream.adapters.db.database import OutboxSignal
from taskstream.app.events import Topic


def test_a_commit_wakes_the_loops_of_its_topics_only() -> None:
    signal = OutboxSignal()
    ready = {topic: signal.listen(topic) for topic in Topic}
    signal.set({Topic.TASK_EVENTS, Topic.TASK_UPDATES})
    assert {topic for topic, event in ready.items() if event.is_set()} == {
        Topic.TASK_EVENTS,
        Topic.TASK_UPDATES,
    }


def test_every_loop_of_a_topic_wakes() -> None:
    signal = OutboxSignal()
    first, second = signal.listen(Topic.REMINDERS), signal.listen(Topic.REMINDERS)
    signal.set([Topic.REMINDERS])
    assert first.is_set()
    assert second.is_set()
