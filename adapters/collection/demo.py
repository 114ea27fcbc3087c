"""``bench demo``: the whole pipeline on a synthetic set, as the ordinary bench commands a user would type.

Every step is a ``bench`` subprocess printed before it runs, so the demo teaches the commands
and exercises exactly what users run. Which providers take part comes from the registry: each
local engine's demo runs (always), then every web provider whose credentials are set.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from adapters.core.errors import ConfigError
from adapters.providers import registry
from adapters.providers.prices import read_prices

Say = Callable[[str], Any]


class StepFailed(Exception):
    """A step ended with an exit code the demo cannot go on from; the demo exits with it."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exit code {code}")
        self.code = code


@dataclass(frozen=True)
class DemoRun:
    """One collection of the demo: its folder name under OUT, the provider and its extra options."""

    name: str
    provider: str
    options: tuple[str, ...] = ()


def demo_runs(say: Say) -> list[DemoRun]:
    """Local engines first (nothing to configure), then each web provider with credentials and no
    option it requires; the ones left out are named through ``say``."""
    runs = []
    for spec in registry.all_specs():
        if spec.is_web or not spec.demo:
            continue
        for name, options in spec.demo_runs or ((spec.name, {}),):
            runs.append(DemoRun(name, spec.name, tuple(a for k, v in options.items() for a in (f"--{k}", str(v)))))
    for spec in registry.all_specs():
        if not spec.is_web:
            continue
        try:
            registry.provider_config(spec.name)
        except ConfigError:
            say(f"{spec.name}: no credentials set, left out of the demo")
            continue
        if spec.missing_options():  # e.g. a chat model: the demo cannot choose one
            say(f"{spec.name}: needs {' and '.join('--' + name for name in spec.missing_options())}, "
                f"left out of the demo")
            continue
        runs.append(DemoRun(spec.name, spec.name))
    return runs


def run_demo(out: Path, images: int, seed: int, say: Say, tolerated: tuple[int, ...] = (),
             prices: Path | None = None) -> Path:
    """synth -> collect (every run of :func:`demo_runs`) -> report; returns the report's path.

    A collection ending with an exit code in ``tolerated`` (auth, quota, failed images) is
    reported and what it collected still goes into the report; any other failing step raises
    :class:`StepFailed`. ``prices``, a user's price table, goes to the report; it is checked
    first, so a bad table stops the demo before any work.
    """
    read_prices(prices)
    def step(*args: str, allowed: tuple[int, ...] = (0,)) -> int:
        say("$ " + shlex.join(["bench", *args]))
        code = subprocess.call([sys.executable, "-m", "bench", *args])
        if code not in allowed:
            raise StepFailed(code)
        return code

    data = out / "data"
    step("synth", "--out", str(data), "--images", str(images), "--seed", str(seed), "--overwrite", "--no-progress")
    results = []
    for run in demo_runs(say):
        code = step("collect", "--provider", run.provider, *run.options, "--images", str(data / "images"),
                    "--out", str(out / run.name), "--no-progress", allowed=(0, *tolerated))
        normalized = out / run.name / f"{run.provider}.normalized.json"
        if code != 0:
            say(f"{run.name}: collection stopped with exit code {code}; reporting what it collected")
        if normalized.exists():
            results.append(str(normalized))
    report = out / "report"
    step("report", *results, "--txt_gt_dir", str(data / "gt"), "--images", str(data / "images"),
         "--categories", str(data / "categories.csv"), "--out", str(report), "--no-progress",
         "--title", f"Korean OCR Bench demo: {len(results)} providers on {images} synthetic images",
         *(("--prices", str(prices)) if prices is not None else ()))
    return report / "report.html"
