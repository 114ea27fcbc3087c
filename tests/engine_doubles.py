"""Engines for the worker-pool tests: importable by name, so spawned worker processes can load them.

Each reads what to do from ``settings.extra`` and answers with facts about the process it ran in.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any

from adapters.core.errors import PermanentError
from adapters.providers import engine_pool
from adapters.providers.registry import Settings


def facts() -> dict[str, Any]:
    return {"pid": os.getpid(), "ppid": os.getppid(), "budget": engine_pool.thread_budget(),
            "omp": os.environ.get("OMP_NUM_THREADS"),
            "sigint_ignored": signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
            "loads": _loads}


_loads = 0


class ScriptedEngine:
    """``extra["act"]``: ``ok`` (answer), ``sleep`` (``extra["seconds"]`` first), ``die`` (the worker
    exits once, then answers), ``bad`` (an unreadable image), ``bug`` (a plain exception);
    ``extra["load"]``: ``fail`` makes loading the engine raise."""

    def load(self, settings: Settings) -> None:
        global _loads
        if settings.get("load") == "fail":
            raise RuntimeError("cannot open model.onnx")
        _loads += 1

    def recognize(self, data: bytes, settings: Settings, timeout: float | None = None) -> dict[str, Any]:
        act = settings.get("act", "ok")
        if act == "sleep":
            time.sleep(float(settings.get("seconds", 1.0)))
        elif act == "die":
            marker = settings.get("marker")
            if marker and not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(3)
        elif act == "bad":
            raise PermanentError("not an image in a format Pillow can read")
        elif act == "bug":
            raise KeyError("boxes")
        return {"engine": "scripted", "bytes": len(data), **facts()}

    def available(self, settings: Settings) -> str | None:
        return None

    def describe(self, settings: Settings) -> str:
        return "scripted"

    def facts(self, settings: Settings) -> dict[str, Any]:
        return {}

    def version(self) -> str | None:
        return None
