"""Parser processes: files parse in parallel with embedding, and a crash costs one file.

`workers=0` parses in the calling process (debugging); otherwise a forkserver pool (fork is
unsafe once torch has started its threads) with a bounded number of jobs in flight, so
memory stays bounded whatever the batch size. A job whose process dies is retried alone;
if it kills its process again it is reported as failed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import types
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from ingest.parse_job import ParseJob, ParseResult, ping, run_parse_job, start_parser_process

log = logging.getLogger(__name__)


_main_swap = threading.Lock()


@contextmanager
def _plain_main() -> Iterator[None]:
    """Start parser processes without re-running the caller's `__main__`.

    multiprocessing makes each new process import the parent's main module first. Under
    Streamlit that is the chat page itself (it loads the answer model), so every parser
    would start with gigabytes mapped and hit its memory cap. A blank `__main__` while a
    process starts avoids that; parsers need nothing from it."""
    with _main_swap:
        real = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = real


class ParserPool:
    def __init__(self, workers: int, memory_cap_bytes: int) -> None:
        self._workers = workers
        self._memory_cap = memory_cap_bytes
        self._executor: ProcessPoolExecutor | None = None
        self._task: Callable[[ParseJob], ParseResult] = run_parse_job  # tests inject faults

    def _new_executor(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["ingest.parse_job"])
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=start_parser_process,
            initargs=(self._memory_cap, os.getpid()),
        )

    def _start(self) -> bool:
        """Start the pool and check a process can run a job at all (some hosts forbid it,
        or the calling program cannot be re-imported); if not, parse in-process."""
        executor = self._new_executor()
        try:
            with _plain_main():
                future = executor.submit(ping)
            future.result(timeout=120)
        except Exception as exc:
            executor.shutdown(wait=False, cancel_futures=True)
            log.warning("parser processes cannot start (%s): parsing in-process", exc)
            self._workers = 0
            return False
        self._executor = executor
        return True

    def run(
        self, jobs: Iterable[ParseJob], keep: bool = False
    ) -> Generator[ParseResult, None, None]:
        """Results in completion order, one per job. `keep`: leave the processes running
        for the next call (close() ends them)."""
        if self._workers and self._executor is None:
            self._start()
        if self._workers == 0:
            for job in jobs:
                yield self._task(job)
            return
        queue: deque[tuple[ParseJob, int]] = deque((job, 0) for job in jobs)
        in_flight: dict[Future[ParseResult], tuple[ParseJob, int]] = {}
        isolate = False  # after a crash, suspects run one at a time to find the culprit
        try:
            while queue or in_flight:
                limit = 1 if isolate else self._workers * 2
                while queue and len(in_flight) < limit:
                    if self._executor is None:
                        self._executor = self._new_executor()
                    job, attempts = queue.popleft()
                    with _plain_main():  # a new process may start here
                        in_flight[self._executor.submit(self._task, job)] = (job, attempts)
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                crashed: list[tuple[ParseJob, int]] = []
                for future in done:
                    job, attempts = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        crashed.append((job, attempts))
                if crashed:
                    # every job in flight dies with the pool: requeue them all as suspects
                    crashed.extend(in_flight.values())
                    in_flight.clear()
                    self._shutdown()
                    isolate = True
                    for job, attempts in reversed(crashed):
                        if attempts >= 1 and len(crashed) == 1:
                            yield ParseResult(
                                source=job.source,
                                error="the parser process crashed on this file "
                                "(killed, out of memory, or a fault in a native library)",
                            )
                        else:
                            queue.appendleft((job, attempts + 1))
                elif isolate and not in_flight and all(a == 0 for _, a in queue):
                    isolate = False
        finally:
            if not keep or in_flight:
                self._shutdown()

    def parse_one(self, job: ParseJob) -> ParseResult:
        """One file in the kept parser process (a cluster node parses a file per task):
        the same sandbox and crash rule as `run`, without a process start per file."""
        (result,) = self.run([job], keep=True)
        return result

    def close(self) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
