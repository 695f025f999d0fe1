"""Who writes next to the SQLite file: threads of one process in the order they came (issue 16:
with a plain lock, a rush of 300 exchanges a second left some waiting seconds while later ones
went first), and processes sharing the file at a lock file beside it. Two queues on one file
stand for two processes: a lock file's lock belongs to the file opened, not to the process."""

from __future__ import annotations

import threading
import time
from functools import partial
from pathlib import Path

from badge_server.store.writer import FifoLock, WriterQueue
from tests.support.waiting import wait_until


def queued(lock: FifoLock, waiters: int) -> bool:
    return len(lock._waiters) == waiters


def test_waiters_get_the_lock_in_the_order_they_came() -> None:
    lock = FifoLock()
    assert lock.acquire(timeout=1)
    order: list[int] = []
    threads = []

    def take(n: int) -> None:
        assert lock.acquire(timeout=10)
        order.append(n)
        lock.release()

    for n in range(8):
        thread = threading.Thread(target=take, args=(n,))
        thread.start()
        threads.append(thread)
        wait_until(partial(queued, lock, n + 1))  # queued before the next one starts
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == list(range(8))


def test_a_waiter_that_times_out_leaves_the_queue_and_the_lock_stays_usable() -> None:
    lock = FifoLock()
    assert lock.acquire(timeout=1)
    results: list[bool] = []
    late = threading.Thread(target=lambda: results.append(lock.acquire(timeout=0.05)))
    late.start()
    late.join(5)
    assert results == [False] and not lock._waiters
    lock.release()
    assert lock.acquire(timeout=0.1), "free again after its holder released it"
    lock.release()


def test_a_thread_that_lets_go_cannot_take_the_lock_back_ahead_of_a_waiter() -> None:
    """What a plain lock allows (the releasing thread, still running, takes it again at once) and
    what starved requests under the rush."""
    lock = FifoLock()
    assert lock.acquire(timeout=1)
    order: list[str] = []

    def wait_then_take() -> None:
        assert lock.acquire(timeout=10)
        order.append("waiter")
        lock.release()

    waiter = threading.Thread(target=wait_then_take)
    waiter.start()
    wait_until(partial(queued, lock, 1))
    lock.release()
    assert lock.acquire(timeout=10)
    order.append("the thread that let go")
    lock.release()
    waiter.join(10)
    assert order == ["waiter", "the thread that let go"]


def test_two_processes_take_turns_at_the_writer(tmp_path: Path) -> None:
    database = str(tmp_path / "badge.db")
    first, second = WriterQueue(database), WriterQueue(database)
    assert first.try_acquire()
    assert not second.try_acquire()
    started = time.monotonic()
    assert not second.acquire(timeout=0.1), "the other process holds it"
    assert time.monotonic() - started >= 0.1
    assert second._threads.try_acquire(), "a wait that timed out gives this process's lock back"
    second._threads.release()
    first.release()
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def test_a_waiting_process_writes_as_soon_as_the_other_is_done(tmp_path: Path) -> None:
    database = str(tmp_path / "badge.db")
    first, second = WriterQueue(database), WriterQueue(database)
    assert first.try_acquire()
    got: list[float] = []
    waiter = threading.Thread(target=lambda: got.append(time.monotonic()) if second.acquire(timeout=10) else None)
    waiter.start()
    time.sleep(0.05)
    assert not got
    released = time.monotonic()
    first.release()
    waiter.join(10)
    # Not SQLite's sleeps of up to 100 ms: a look every millisecond at most. (Loose, for a busy
    # machine: what it rules out is a waiter that never saw the release.)
    assert got and got[0] - released < 1
    second.release()


def test_a_lock_file_that_cannot_be_opened_leaves_the_queue_to_this_process(tmp_path: Path) -> None:
    """E.g. one left by another user: the processes then meet at SQLite's own lock, as before."""
    database = tmp_path / "badge.db"
    Path(f"{database}-writer").mkdir()
    queue = WriterQueue(str(database))
    assert queue.try_acquire()
    assert not queue.try_acquire()
    queue.release()
    assert queue.acquire(timeout=1)
    queue.release()
