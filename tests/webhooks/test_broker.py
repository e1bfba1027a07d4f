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


def test_a_full_prefetch_window_hands_back_to_the_worker_loop_at_once(folders):
    # With the window full, only the acknowledgements the worker performs between drains can free it: a drain
    # that sleeps its polling interval meanwhile leaves finished tasks unacknowledged (and threads idle).
    folders = {**folders, "polling_interval": 0.5}
    with connection(folders) as conn:
        producer = conn.SimpleQueue("test")
        for index in range(5):
            producer.put({"n": index})
        held = []
        channel = conn.default_channel
        channel.basic_qos(0, 2, False)
        with conn.Consumer(
            Queue("test"), channel=channel, callbacks=[lambda body, message: held.append(message)]
        ):
            while len(held) < 2:
                conn.drain_events(timeout=2.0)
            started = time.monotonic()
            with pytest.raises(socket.timeout):
                conn.drain_events(timeout=2.0)  # two unacknowledged messages: the window is full
            assert time.monotonic() - started < 0.1
            held.pop(0).ack()
            conn.drain_events(timeout=2.0)  # one place free: the next message comes at once
            assert [message.payload["n"] for message in held] == [1, 2]
        producer.close()


def test_two_queues_share_one_folder_and_each_reads_its_own_in_order(folders, monkeypatch):
    from baton_site import broker

    listings = []
    real_listdir = broker.os.listdir
    monkeypatch.setattr(broker.os, "listdir", lambda path: listings.append(path) or real_listdir(path))
    monkeypatch.setattr(broker, "LIST_INTERVAL", 60.0)  # no time-based re-listing while the backlog drains
    with connection(folders) as conn:
        busy, idle = conn.SimpleQueue("busy"), conn.SimpleQueue("idle.box")
        for index in range(100):
            busy.put({"n": index})
        received = []
        for _ in range(100):
            message = busy.get(timeout=2)
            received.append(message.payload["n"])
            message.ack()
            with pytest.raises(busy.Empty):
                idle.get(block=False)  # an empty queue polled between the busy one's messages
        assert received == list(range(100))
        # Polling the empty queue did not list the backlog again each time (each SimpleQueue has its own channel,
        # so each lists once).
        assert len(listings) <= 3
        monkeypatch.setattr(broker, "LIST_INTERVAL", 0.0)
        idle.put({"late": True})  # published after the listing: seen once the queue is listed again
        assert idle.get(timeout=2).payload == {"late": True}
        busy.close()
        idle.close()
