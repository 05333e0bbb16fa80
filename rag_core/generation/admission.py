"""Admission control for answer generation: a fixed number of slots, a bounded FIFO queue.

One `AnswerGate` per process. A question takes a slot for as long as its answer streams;
when all slots are busy it waits in line (the caller is told how many answers must finish
before its own starts), and when the line is full, or it waited `queue_timeout_s`, it is
turned away with a clear message. A slot is held for at most `hold_timeout_s`: an answer
whose reader vanished (a closed browser tab) can never keep a slot longer than that, even if
the thread streaming it is stuck; normally the slot is freed at once when the stream is
closed.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rag_core.i18n import SOURCE_LANGUAGE, ntranslator
from rag_core.observability import telemetry
from rag_core.types import RagdeskError

# Called while waiting, at every poll, with the number of answers ahead; raising from it
# leaves the line (a reader who is gone).
WaitCallback = Callable[[int], None]


class Busy(RagdeskError):
    """No slot for this question now; the message says why and what to do."""


class AnswerTimeout(RagdeskError):
    """An answer held its slot longer than allowed and was stopped."""


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def ahead_message(ahead: int, language: str = SOURCE_LANGUAGE) -> str:
    """What a reader in line is told, in their language."""
    ngettext = ntranslator(language)
    return ngettext(
        "Busy: {n} answer ahead of you. Yours starts automatically as soon as possible.",
        "Busy: {n} answers ahead of you. Yours starts automatically as soon as possible.",
        ahead,
    ).format(n=ahead)


@dataclass(slots=True)
class Lease:
    ticket: int
    deadline: float  # time.monotonic()
    waited_s: float

    def expired(self) -> bool:
        return time.monotonic() > self.deadline


class AnswerGate:
    def __init__(
        self,
        slots: int,
        max_queued: int,
        queue_timeout_s: float,
        hold_timeout_s: float,
        poll_s: float = 0.25,
    ) -> None:
        if slots < 1:
            raise ValueError("an answer gate needs at least one slot")
        self.slots = slots
        self._max_queued = max_queued
        self._queue_timeout = queue_timeout_s
        self._hold_timeout = hold_timeout_s
        self._poll = poll_s
        self._cond = threading.Condition()
        self._holders: dict[int, float] = {}  # ticket -> deadline
        self._waiting: deque[int] = deque()
        self._tickets = itertools.count(1)

    @property
    def in_progress(self) -> int:
        with self._cond:
            return len(self._holders)

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._waiting)

    @contextmanager
    def slot(self, on_wait: WaitCallback | None = None) -> Iterator[Lease]:
        """Hold a slot for the body; waits in line when all are taken (see the module doc)."""
        lease = self._acquire(on_wait)
        telemetry.ANSWERS_IN_PROGRESS.inc()
        try:
            yield lease
        finally:
            telemetry.ANSWERS_IN_PROGRESS.dec()
            with self._cond:
                self._holders.pop(lease.ticket, None)
                self._cond.notify_all()

    def _acquire(self, on_wait: WaitCallback | None) -> Lease:
        started = time.monotonic()
        ticket = next(self._tickets)
        with self._cond:
            self._reclaim_expired()
            if not self._waiting and len(self._holders) < self.slots:
                return self._grant(ticket, started)
            if len(self._waiting) >= self._max_queued:
                telemetry.BUSY_REJECTIONS.labels("queue_full").inc()
                raise Busy(
                    f"ragdesk is busy: {_count(len(self._holders), 'answer')} being written "
                    f"and {_count(len(self._waiting), 'question')} waiting. Please ask again "
                    "in a minute."
                )
            self._waiting.append(ticket)
            telemetry.QUEUE_DEPTH.inc()
        try:
            return self._wait_in_line(ticket, started, on_wait)
        finally:
            with self._cond:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()
            telemetry.QUEUE_DEPTH.dec()

    def _wait_in_line(self, ticket: int, started: float, on_wait: WaitCallback | None) -> Lease:
        while True:
            with self._cond:
                self._reclaim_expired()
                position = self._waiting.index(ticket)
                if position == 0 and len(self._holders) < self.slots:
                    self._waiting.popleft()
                    return self._grant(ticket, started)
                if time.monotonic() - started > self._queue_timeout:
                    telemetry.BUSY_REJECTIONS.labels("queue_timeout").inc()
                    raise Busy(
                        f"ragdesk is busy: no answer slot became free in "
                        f"{self._queue_timeout:.0f} s. Please ask again in a minute."
                    )
                ahead = position + 1  # the queued ones before us, then one answer finishing
            if on_wait is not None:
                on_wait(ahead)  # outside the lock: it may draw on a page
            with self._cond:
                self._cond.wait(self._poll)

    def _grant(self, ticket: int, started: float) -> Lease:
        now = time.monotonic()
        self._holders[ticket] = now + self._hold_timeout
        telemetry.QUEUE_WAIT_SECONDS.observe(now - started)
        return Lease(ticket, now + self._hold_timeout, now - started)

    def _reclaim_expired(self) -> None:
        now = time.monotonic()
        for ticket, deadline in list(self._holders.items()):
            if deadline < now:
                del self._holders[ticket]
                telemetry.SLOTS_RECLAIMED.inc()
