"""Group commit (baton_site.db.group): operations of many threads share transactions, and none is lost to another's
failure. Real threads, real transactions, on whichever database the suite runs."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction

from baton_site.db import group
from executions.models import EventStream


def _create(task_id: str, hooks: list[str] | None = None):
    def operation() -> int:
        stream = EventStream.objects.create(task_id=task_id, last_sequence=1)
        if hooks is not None:
            transaction.on_commit(lambda: hooks.append(task_id))
        return stream.pk

    return operation


def _wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


class _Run:
    """Runs one operation through a GroupCommit in a thread of its own and keeps its outcome."""

    def __init__(self, commit: group.GroupCommit, operation) -> None:
        self.value = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(commit, operation))
        self.thread.start()

    def _run(self, commit: group.GroupCommit, operation) -> None:
        try:
            self.value = commit.run(operation)
        except BaseException as exc:  # noqa: BLE001 - checked by the test
            self.error = exc
        finally:
            connection.close()

    def join(self) -> _Run:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        return self


def _hold_first_batch(commit: group.GroupCommit, followers: list) -> tuple[_Run, list[_Run]]:
    """Start a leader whose operation waits until every follower has queued behind it, then the followers."""
    release = threading.Event()

    def slow_leader() -> str:
        release.wait(timeout=10)
        EventStream.objects.create(task_id="task-leader", last_sequence=1)
        return "leader"

    leader = _Run(commit, slow_leader)
    _wait_until(lambda: commit.waiting() == 0 and commit.transactions == 0 and commit.leading())
    runs = [_Run(commit, operation) for operation in followers]
    _wait_until(lambda: commit.waiting() == len(followers))
    release.set()
    return leader.join(), [run.join() for run in runs]


@pytest.mark.django_db(transaction=True)
def test_operations_that_arrive_while_a_batch_runs_share_the_next_transaction():
    commit = group.GroupCommit()
    hooks: list[str] = []
    leader, runs = _hold_first_batch(commit, [_create(f"task-g{n}", hooks) for n in range(6)])

    assert leader.error is None
    assert leader.value == "leader"
    assert [run.error for run in runs] == [None] * 6
    stored = dict(EventStream.objects.values_list("task_id", "pk"))
    assert [run.value for run in runs] == [stored[f"task-g{n}"] for n in range(6)]
    assert sorted(hooks) == sorted(f"task-g{n}" for n in range(6))  # each hook once, after the commit
    # The leader's batch alone, then the six followers together.
    assert (commit.transactions, commit.operations) == (2, 7)


@pytest.mark.django_db(transaction=True)
def test_a_failing_operation_fails_alone_and_its_neighbours_commit():
    EventStream.objects.create(task_id="task-taken", last_sequence=1)
    commit = group.GroupCommit()
    hooks: list[str] = []
    _, runs = _hold_first_batch(
        commit, [_create("task-a", hooks), _create("task-taken", hooks), _create("task-b", hooks)]
    )

    first, failing, last = runs
    assert first.error is None
    assert last.error is None
    assert isinstance(failing.error, IntegrityError)
    assert set(EventStream.objects.values_list("task_id", flat=True)) == {
        "task-taken",
        "task-leader",
        "task-a",
        "task-b",
    }
    # The batch was rolled back and its operations ran again one by one: the hooks of the rolled-back attempt
    # never ran, those of the commits ran once each.
    assert sorted(hooks) == ["task-a", "task-b"]
    assert (commit.transactions, commit.operations) == (1 + 3, 1 + 3)


@pytest.mark.django_db(transaction=True)
def test_many_threads_lose_nothing_and_batch_under_contention():
    commit = group.GroupCommit(max_batch=8)
    start = threading.Barrier(12)

    def worker(number: int) -> None:
        start.wait()
        for index in range(10):
            commit.run(_create(f"task-t{number}-{index}"))
        connection.close()

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert EventStream.objects.count() == 120
    assert commit.operations == 120
    assert not commit.leading()
    assert commit.waiting() == 0


@pytest.mark.django_db(transaction=True)
def test_an_operation_alone_runs_at_once_in_the_calling_thread():
    commit = group.GroupCommit()
    seen: list[int] = []

    def operation() -> str:
        seen.append(threading.get_ident())
        EventStream.objects.create(task_id="task-alone", last_sequence=1)
        return "done"

    assert commit.run(operation) == "done"
    assert seen == [threading.get_ident()]
    assert EventStream.objects.filter(task_id="task-alone").exists()
    with pytest.raises(ZeroDivisionError):
        commit.run(lambda: 1 / 0)
    assert not commit.leading()


@pytest.mark.django_db(transaction=True)
def test_a_hook_that_fails_after_the_commit_does_not_run_the_batch_twice():
    commit = group.GroupCommit()

    def failing_hook_operation() -> str:
        EventStream.objects.create(task_id="task-hooked", last_sequence=1)

        def hook() -> None:
            raise RuntimeError("hook failed")

        transaction.on_commit(hook)
        return "stored"

    _, runs = _hold_first_batch(commit, [failing_hook_operation, _create("task-next")])
    assert [run.value for run in runs][0] == "stored"
    assert [run.error for run in runs] == [None, None]
    assert EventStream.objects.filter(task_id__in=["task-hooked", "task-next"]).count() == 2


def test_group_commit_applies_only_to_a_sqlite_file_outside_a_transaction(settings, tmp_path):
    class FakeConnection:
        def __init__(self, vendor: str, name: str, in_atomic_block: bool = False) -> None:
            self.vendor, self.in_atomic_block = vendor, in_atomic_block
            self.settings_dict = {"NAME": name}

    assert group.usable_for(FakeConnection("sqlite", str(tmp_path / "baton.sqlite3")))
    assert not group.usable_for(
        FakeConnection("sqlite", str(tmp_path / "baton.sqlite3"), in_atomic_block=True)
    )
    assert not group.usable_for(FakeConnection("sqlite", ":memory:"))
    assert not group.usable_for(FakeConnection("postgresql", "baton"))
