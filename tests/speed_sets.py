"""The generated sets of ``benchmarks/eval_speed.py`` for tests: the same hard cases the speed
benchmarks run (don't-care runs, bow-ties, ties, zero-area and six-point outlines), seeded.

``benchmarks`` is not a package, so the script is loaded from its file once.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "eval_speed.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_speed_sets", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()
