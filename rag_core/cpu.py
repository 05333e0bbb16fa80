"""How many threads compute-bound work should use on this machine."""

from __future__ import annotations

import os


def physical_cores() -> int:
    """Cores, not hyper-threads: two threads on one core share its math units, so the
    second only contends (llama.cpp's own tools default to this too)."""
    import psutil

    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
