"""The event bus's per-task sequence under concurrent publishers (real threads, real transactions)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from executions import events
from executions.models import Event, EventStream


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_of_a_new_task_get_gap_free_unique_sequences():
    task_id = "task-race-new"
    writers, batches = 6, 5
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def publish_batches(writer: int) -> None:
        try:
            start.wait()
            for batch in range(batches):
                events.publish_many(
                    task_id, [("step.completed", {"w": writer, "b": batch, "i": i}) for i in range(3)]
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish_batches, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    total = writers * batches * 3
    rows = list(Event.objects.filter(task_id=task_id).order_by("sequence").values_list("sequence", "payload"))
    assert [sequence for sequence, _ in rows] == list(range(1, total + 1))
    # Each batch got one contiguous block, in its own order.
    for start_index in range(0, total, 3):
        block = [payload for _, payload in rows[start_index : start_index + 3]]
        assert [item["i"] for item in block] == [0, 1, 2]
        assert len({(item["w"], item["b"]) for item in block}) == 1
    if connection.vendor == "sqlite":
        # The one writer reads the last sequence from the event index: no counter row is kept.
        assert not EventStream.objects.filter(task_id=task_id).exists()
    else:
        assert EventStream.objects.get(task_id=task_id).last_sequence == total
