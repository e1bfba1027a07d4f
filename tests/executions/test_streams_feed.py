"""The delivery rules of the live streams, on real Event rows and the real in-memory channel layer.

Each test runs its own event loop (`asyncio.run`); events are committed for real (`transactional_db`) because the
bus broadcasts on commit and the feeds read what was committed.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from executions import streams
from executions.events import event_to_dict, group_for_task, publish_many
from executions.models import Event
from executions.stream_selectors import event_resume_sequence, event_task_exists
from executions.streams import (
    AllTasksFeed,
    StreamEvent,
    StreamHub,
    StreamOverflow,
    Subscription,
    TaskFeed,
)
from plans.models import Plan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _slow_watch(settings):
    # The table watch would otherwise wake the feeds on its own; tests call `check_table` when they mean it.
    settings.BATON_STREAM_POLL_INTERVAL = 60.0


def publish(task_id: str, count: int, topic: str = "step.completed") -> list[StreamEvent]:
    first = Event.objects.filter(task_id=task_id).count()
    rows = publish_many(task_id, [(topic, {"n": first + n}) for n in range(count)])
    return [StreamEvent(event_to_dict(row)) for row in rows]


# Publishing from the loop as a sync view would, on a connection closed afterwards (a connection left open in
# a worker thread would keep PostgreSQL from dropping the test database).
publish_from_loop = streams.database_call(publish)


def sequences(batch: list[StreamEvent] | None) -> list[int] | None:
    return None if batch is None else [event.sequence for event in batch]


def test_a_task_feed_replays_then_skips_repeats_and_reads_gaps_from_the_table():
    stored = publish("task-a", 3)

    async def scenario():
        feed = TaskFeed(Subscription("task-a", "test"))
        subscription = feed._subscription
        assert sequences(await feed.next_batch(1)) == [1, 2, 3]  # the replay
        assert await feed.next_batch(0.05) is None  # silence

        subscription.offer(stored[2])  # a repeat of what the replay sent
        assert sequences(await feed.next_batch(1)) == []

        later = await publish_from_loop("task-a", 2)
        subscription.offer(later[1])  # event 4 was dropped on the way: 5 arrives first
        assert sequences(await feed.next_batch(1)) == [4, 5]
        subscription.offer(later[0])  # the late copy of 4 is not sent twice
        assert sequences(await feed.next_batch(1)) == []
        assert feed.position == subscription.position == 5

    asyncio.run(scenario())


def test_a_task_feed_resumes_after_a_position_and_replays_in_pages(monkeypatch):
    publish("task-b", 5)
    monkeypatch.setattr(streams, "REPLAY_PAGE_SIZE", 2)

    async def scenario():
        feed = TaskFeed(Subscription("task-b", "test"), after_sequence=1)
        pages = [sequences(await feed.next_batch(1)) for _ in range(2)]
        assert pages == [[2, 3], [4, 5]]
        assert sequences(await feed.next_batch(1)) == []  # the short page that ends the replay
        assert await feed.next_batch(0.05) is None

    asyncio.run(scenario())


def test_an_overflowing_buffer_is_dropped_and_caught_up_from_the_table(monkeypatch):
    publish("task-c", 1)
    monkeypatch.setattr(streams, "SUBSCRIPTION_BUFFER_LIMIT", 2)

    async def scenario():
        feed = TaskFeed(Subscription("task-c", "test"))
        assert sequences(await feed.next_batch(1)) == [1]
        for event in await publish_from_loop("task-c", 4):
            feed._subscription.offer(event)
        assert len(feed._subscription._pending) < 2
        assert sequences(await feed.next_batch(1)) == [2, 3, 4, 5]

    asyncio.run(scenario())


def test_the_table_watch_wakes_clients_behind_the_committed_head():
    publish("task-d", 1)

    async def scenario():
        hub = StreamHub(layer=None)  # nothing is pushed: only the table can tell
        async with hub.subscription("task-d", kind="test") as subscription:
            feed = TaskFeed(subscription)
            assert sequences(await feed.next_batch(1)) == [1]
            await hub.check_table()
            assert await feed.next_batch(0.05) is None  # up to date: no wake-up, no query
            await publish_from_loop("task-d", 2)  # as another process would
            await hub.check_table()
            assert sequences(await feed.next_batch(1)) == [2, 3]
        assert hub.stats() == {
            "open_streams": 0,
            "task_groups": 0,
            "all_tasks_streams": 0,
            "background_tasks": 0,
        }

    asyncio.run(scenario())


def test_the_hub_pushes_committed_events_live_and_leaves_its_groups():
    publish("task-e", 1)
    layer = get_channel_layer()

    async def scenario():
        hub = StreamHub(layer)
        async with (
            hub.subscription("task-e", kind="test") as first,
            hub.subscription("task-e", kind="test") as second,
            hub.subscription(None, kind="test") as everything,
        ):
            assert hub.stats() == {
                "open_streams": 3,
                "task_groups": 1,
                "all_tasks_streams": 1,
                "background_tasks": 3,
            }
            assert len(layer.groups[group_for_task("task-e")]) == 1  # one hub channel, not one per client
            feeds = [TaskFeed(first), TaskFeed(second)]
            for feed in feeds:
                assert sequences(await feed.next_batch(1)) == [1]
            all_tasks = AllTasksFeed(everything)

            await publish_from_loop("task-e", 1)  # commits, then broadcasts on this loop
            await publish_from_loop("task-other", 1)
            for feed in feeds:
                assert sequences(await feed.next_batch(2)) == [2]
            received = []
            while len(received) < 2:
                received += await all_tasks.next_batch(2)
            assert [(event.task_id, event.sequence) for event in received] == [
                ("task-e", 2),
                ("task-other", 1),
            ]
        assert hub.stats() == {
            "open_streams": 0,
            "task_groups": 0,
            "all_tasks_streams": 0,
            "background_tasks": 0,
        }
        assert group_for_task("task-e") not in layer.groups

    asyncio.run(scenario())


def test_the_all_tasks_feed_skips_repeats_fills_gaps_and_refuses_to_fall_behind(monkeypatch):
    a = publish("task-f", 3)
    b = publish("task-g", 1)

    async def scenario():
        subscription = Subscription(None, "test")
        feed = AllTasksFeed(subscription)
        for event in (a[0], b[0], a[0]):
            subscription.offer(event)
        assert [(e.task_id, e.sequence) for e in await feed.next_batch(1)] == [("task-f", 1), ("task-g", 1)]
        subscription.offer(a[2])  # 2 never arrived: read from the table before 3
        assert [(e.task_id, e.sequence) for e in await feed.next_batch(1)] == [("task-f", 2), ("task-f", 3)]

        monkeypatch.setattr(streams, "SUBSCRIPTION_BUFFER_LIMIT", 1)
        subscription.offer(b[0])
        subscription.offer(b[0])
        with pytest.raises(StreamOverflow):
            await feed.next_batch(1)

    asyncio.run(scenario())


def test_stream_events_are_framed_once_as_the_contract_shows():
    event = publish("task-h", 1, topic="step.dispatched")[0]
    frame = event.sse_frame.decode()
    lines = frame.split("\n")
    assert lines[0] == "event: step.dispatched"
    assert lines[1] == f"id: {event.data['event_id']}"
    assert lines[2].startswith('data: {"event_id":')
    assert frame.endswith("\n\n")
    assert event.sse_frame is event.sse_frame  # encoded once, shared by every client
    assert StreamEvent.from_message({"type": "baton.event", "event": event.data}) == event
    assert StreamEvent.from_message({"type": "other", "event": event.data}) is None
    assert StreamEvent.from_message({"type": "baton.event", "event": {"task_id": "x"}}) is None


def test_resume_points_and_task_existence():
    events = publish("task-i", 3)
    publish("task-j", 1)
    assert event_resume_sequence("task-i", events[1].data["event_id"]) == 2
    assert event_resume_sequence("task-i", "2") == 2
    assert event_resume_sequence("task-i", None) == 0
    assert event_resume_sequence("task-i", "not-an-id") == 0
    other = Event.objects.get(task_id="task-j").event_id
    assert event_resume_sequence("task-i", other) == (int(other) if other.isdigit() else 0)

    assert event_task_exists("task-i")
    assert not event_task_exists("task-never")
    Plan.objects.create(plan_id="task-planned", task_summary="A plan", created_at=timezone.now())
    assert event_task_exists("task-planned")
