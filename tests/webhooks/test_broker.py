"""The embedded default's broker transport (baton_site/broker.py) with real kombu connections on a temp folder."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from kombu import Connection, Queue

TRANSPORT = "baton_site.broker:Transport"


@pytest.fixture
def folders(tmp_path):
    for name in ("queue", "processed"):
        (tmp_path / name).mkdir()
    return {
        "data_folder_in": str(tmp_path / "queue"),
        "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processed"),
        "store_processed": False,
        "polling_interval": 0.01,
    }


def connection(options) -> Connection:
    return Connection("filesystem://", transport=TRANSPORT, transport_options=options)


def test_messages_are_read_in_publishing_order_and_leave_nothing_behind(folders, tmp_path):
    with connection(folders) as conn:
        queue = conn.SimpleQueue("test")
        for index in range(20):
            queue.put({"n": index})
        received = []
        for _ in range(20):
            message = queue.get(timeout=2)
            received.append(message.payload["n"])
            message.ack()
        queue.close()
    assert received == list(range(20))
    assert list((tmp_path / "queue").iterdir()) == []
    assert list((tmp_path / "processed").iterdir()) == []
    assert list((tmp_path / "staging").iterdir()) == []  # written there, renamed into the queue


def test_concurrent_consumers_never_take_the_same_message(folders):
    with connection(folders) as producer:
        queue = producer.SimpleQueue("test")
        for index in range(200):
            queue.put({"n": index})
        queue.close()
    taken: list[int] = []
    lock = threading.Lock()

    def consume():
        with connection(folders) as conn:
            queue = conn.SimpleQueue("test")
            while True:
                try:
                    message = queue.get(timeout=0.3)
                except queue.Empty:
                    break
                with lock:
                    taken.append(message.payload["n"])
                message.ack()
            queue.close()

    threads = [threading.Thread(target=consume) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(taken) == list(range(200))


@pytest.mark.parametrize(
    ("transport", "at_least", "at_most"), [(TRANSPORT, 0.0, 0.5), ("filesystem", 1.9, 5.0)]
)
def test_a_drain_returns_to_the_worker_loop_quickly(folders, transport, at_least, at_most):
    # A worker without event loop acknowledges finished tasks between drains (see baton_site/broker.py); kombu's
    # own transport waits out the worker's whole 2 s drain timeout on an empty queue.
    with Connection("filesystem://", transport=transport, transport_options=folders) as conn:
        with conn.Consumer(Queue("test"), callbacks=[lambda body, message: message.ack()]):
            started = time.monotonic()
            with pytest.raises(socket.timeout):
                conn.drain_events(timeout=2.0)
        assert at_least <= time.monotonic() - started < at_most
