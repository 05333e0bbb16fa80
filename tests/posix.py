"""Real POSIX groups for the file-permission tests (groupadd/groupdel; needs root, as CI
runs), removed again when the test is done."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def posix_groups(*roles: str) -> Iterator[dict[str, str]]:
    """{role: a new, unique group name} for each role; the groups are deleted on exit."""
    if os.geteuid() != 0:
        pytest.fail("the file-permission tests create groups and chgrp files: run them as root")
    tag = uuid.uuid4().hex[:6]
    names = {role: f"rd{tag}-{role}" for role in roles}
    created: list[str] = []
    try:
        for name in names.values():
            subprocess.run(["groupadd", name], check=True, capture_output=True)
            created.append(name)
        yield names
    finally:
        for name in created:
            subprocess.run(["groupdel", name], check=False, capture_output=True)


def chgrp(path: os.PathLike[str] | str, group: str, mode: int) -> None:
    """Give `path` the owner group `group` and the permission bits `mode`."""
    import shutil

    shutil.chown(path, group=group)
    os.chmod(path, mode)


def setfacl(*args: str) -> None:
    subprocess.run(["setfacl", *args], check=True, capture_output=True)
