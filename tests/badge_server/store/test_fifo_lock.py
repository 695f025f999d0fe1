"""The SQLite writer's lock goes to waiting requests in the order they came (issue 16: with a plain
lock, a rush of 300 exchanges a second left some waiting seconds while later ones went first)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

from badge_server.store.db import FifoLock


def wait_until(condition: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


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
