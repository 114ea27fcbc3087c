"""Facts about the machine the tool runs on, shared by collection and serving."""
from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask: a container's cpuset, ``taskset``),
    not the host's count that ``os.cpu_count()`` reports: how many engine processes to run. A CPU
    quota (``docker --cpus``) is not visible here; set the worker count by hand then."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity API (macOS, Windows)
        return max(1, os.cpu_count() or 1)
