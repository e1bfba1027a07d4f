"""The SQLite writer lock holds the garbage collector off while it is held, and only then."""

from __future__ import annotations

import gc
import os

from baton_site.db.base import writer_lock


def test_the_collector_is_off_only_while_the_lock_is_held():
    assert gc.isenabled()
    writer_lock.acquire(None)
    try:
        assert not gc.isenabled()
    finally:
        writer_lock.release(None)
    assert gc.isenabled()


def test_a_child_forked_while_the_lock_is_held_has_its_collector_on():
    writer_lock.acquire(None)
    try:
        pid = os.fork()
        if pid == 0:  # the child: holds no lock, so must collect
            os._exit(0 if gc.isenabled() else 1)
    finally:
        writer_lock.release(None)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert gc.isenabled()
