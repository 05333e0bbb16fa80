"""External programs a parser calls (tesseract, LibreOffice), run inside the parser sandbox.

They inherit the parser process's address-space cap (rlimits survive exec), run in their own
process group so that a timeout (theirs, or the job's alarm interrupting the wait) kills the
whole tree (LibreOffice is a launcher with a child), and get a small fixed environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence

from ingest.errors import UnreadableDocument


def find_tool(name: str, missing: str) -> str:
    """The program's path, or UnreadableDocument(`missing`): the reason a file is refused
    when the tool its format needs is not installed."""
    found = shutil.which(name)
    if found is None:
        raise UnreadableDocument(missing)
    return found


def run_tool(
    argv: Sequence[str],
    timeout_s: float,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run to completion (any exit status); a timeout is UnreadableDocument."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "LANG": "C.UTF-8",
        **(env or {}),
    }
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        name = os.path.basename(argv[0])
        raise UnreadableDocument(f"{name} took longer than {timeout_s:g} s: skipped") from None
    except BaseException:  # the job's alarm, or MemoryError: never leave the tool running
        _kill_group(process)
        raise
    return subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def first_line(stderr: bytes) -> str:
    """A tool's complaint, reduced to one line for the report."""
    for line in stderr.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            return line.strip()[:200]
    return "no message"
