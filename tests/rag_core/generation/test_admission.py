"""The answer gate with real threads: slots, the line and its messages, timeouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from rag_core.generation.admission import AnswerGate, Busy, ahead_message


def hold(gate: AnswerGate, release: threading.Event, entered: threading.Event) -> None:
    with gate.slot():
        entered.set()
        release.wait(10)


@contextmanager
def slots_taken(gate: AnswerGate, count: int = 1) -> Iterator[None]:
    """`count` answers holding their slots, each in its own thread, until the block ends
    (then they finish and their threads are joined)."""
    release = threading.Event()
    holders: list[threading.Thread] = []
    try:
        for _ in range(count):
            entered = threading.Event()
            thread = threading.Thread(target=hold, args=(gate, release, entered))
            thread.start()
            holders.append(thread)
            assert entered.wait(5)
        yield
    finally:
        release.set()
        for thread in holders:
            thread.join(5)


def test_slots_are_shared_and_the_line_is_told_how_many_are_ahead() -> None:
    gate = AnswerGate(slots=2, max_queued=5, queue_timeout_s=10, hold_timeout_s=60, poll_s=0.02)
    heard: dict[str, list[int]] = {"first": [], "second": []}
    order: list[str] = []

    def waiter(name: str) -> None:
        def told(ahead: int) -> None:
            if not heard[name] or heard[name][-1] != ahead:
                heard[name].append(ahead)

        with gate.slot(told):
            order.append(name)

    first = threading.Thread(target=waiter, args=("first",))
    second = threading.Thread(target=waiter, args=("second",))
    with slots_taken(gate, 2):
        assert gate.in_progress == 2
        first.start()
        deadline = time.monotonic() + 5
        while gate.queued < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        second.start()
        while gate.queued < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        assert heard == {"first": [1], "second": [2]}
    for thread in (first, second):
        thread.join(5)
    assert order == ["first", "second"], "first come, first served"
    assert gate.in_progress == 0 and gate.queued == 0
    assert ahead_message(2) == (
        "Busy: 2 answers ahead of you. Yours starts automatically as soon as possible."
    )


def test_a_full_line_turns_the_next_question_away_with_a_clear_message() -> None:
    gate = AnswerGate(slots=1, max_queued=0, queue_timeout_s=10, hold_timeout_s=60)
    full = r"busy: 1 answer being written and 0 questions waiting.*ask again"
    with slots_taken(gate), pytest.raises(Busy, match=full), gate.slot():
        pass
    with gate.slot() as lease:  # free again
        assert lease.waited_s < 1


def test_waiting_too_long_gives_up_and_leaves_the_line() -> None:
    gate = AnswerGate(slots=1, max_queued=3, queue_timeout_s=0.3, hold_timeout_s=60, poll_s=0.02)
    with slots_taken(gate):
        with pytest.raises(Busy, match="no answer slot became free in 0 s"), gate.slot():
            pass
        assert gate.queued == 0


def test_a_slot_held_past_its_timeout_is_reclaimed() -> None:
    """A stream nobody reads any more (a closed tab, a stuck thread) frees its slot anyway."""
    gate = AnswerGate(slots=1, max_queued=3, queue_timeout_s=5, hold_timeout_s=0.3, poll_s=0.02)
    with slots_taken(gate):  # the stuck one
        started = time.monotonic()
        with gate.slot() as lease:
            assert 0.2 < time.monotonic() - started < 3
            assert not lease.expired()
    assert gate.in_progress == 0


def test_a_waiter_who_left_leaves_the_line() -> None:
    gate = AnswerGate(slots=1, max_queued=3, queue_timeout_s=30, hold_timeout_s=60, poll_s=0.02)

    def gone(ahead: int) -> None:
        raise ConnectionAbortedError("the browser tab was closed")

    with slots_taken(gate):
        with pytest.raises(ConnectionAbortedError), gate.slot(gone):
            pass
        assert gate.queued == 0
