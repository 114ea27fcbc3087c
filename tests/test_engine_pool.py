"""Local engines in worker processes (adapters/providers/engine_pool.py): start-up, failures,
timeouts, and workers that die with the collector (kill -9 of a real `bench collect`)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from adapters.core.errors import EngineUnavailable
from adapters.core.images import PreparedImage
from adapters.providers.base import Outcome
from adapters.providers.engine_pool import EngineProvider
from adapters.providers.registry import Settings
from collect_support import bench_cmd, bench_env, journal_lines, make_set
from engine_doubles import ScriptedEngine

pytestmark = pytest.mark.slow  # every test here starts worker processes

IMAGE = PreparedImage("img", "img.png", "png", b"\x89PNG fake bytes", 10, 10, 10, 10)


def provider(processes: int = 2, grace: float = 0.0, **extra) -> EngineProvider:
    return EngineProvider("scripted", ScriptedEngine(), Settings(extra=extra), parse=lambda raw: raw,
                          processes=processes, grace=grace)


def test_workers_start_up_front_each_loads_once_and_are_set_up_for_one_engine_each():
    engines = provider(processes=2)
    try:
        engines.start()
        answers = [engines.call(IMAGE, timeout=30).verdict for _ in range(6)]
    finally:
        engines.close()
    assert all(v.outcome is Outcome.SUCCESS for v in answers), answers
    bodies = [v.body for v in answers]
    assert {b["ppid"] for b in bodies} == {os.getpid()}
    assert all(b["loads"] == 1 for b in bodies)  # loaded once per worker, before the first image
    assert all(b["sigint_ignored"] for b in bodies)
    budget = max(1, len(os.sched_getaffinity(0)) // 2)
    assert all(b["budget"] == budget and b["omp"] == str(budget) for b in bodies)
    assert len({b["pid"] for b in bodies}) <= 2


def test_an_engine_that_cannot_load_is_an_input_error_before_any_image():
    engines = provider(load="fail")
    with pytest.raises(EngineUnavailable, match="scripted: RuntimeError: cannot open model.onnx"):
        engines.start()
    engines.close()


def test_engine_errors_cost_one_image_and_name_it():
    engines = provider(processes=1, act="bad")
    try:
        bad = engines.call(IMAGE, timeout=30).verdict
        engines.settings = Settings(extra={"act": "bug"})
        bug = engines.call(IMAGE, timeout=30).verdict
    finally:
        engines.close()
    assert (bad.outcome, bad.code) == (Outcome.PERMANENT, "scripted_error")
    assert bad.message == "img.png: not an image in a format Pillow can read"
    assert (bug.outcome, bug.code, bug.message) == (Outcome.PERMANENT, "scripted_error", "img.png: KeyError: 'boxes'")


def test_a_dead_worker_is_a_transient_failure_and_the_retry_gets_a_fresh_pool(tmp_path: Path):
    engines = provider(processes=1, act="die", marker=str(tmp_path / "died-once"))
    try:
        first = engines.call(IMAGE, timeout=30).verdict
        second = engines.call(IMAGE, timeout=30).verdict
    finally:
        engines.close()
    assert (first.outcome, first.code) == (Outcome.TRANSIENT, "worker_died")
    assert second.outcome is Outcome.SUCCESS


def test_no_answer_in_time_is_a_transient_timeout_and_the_busy_worker_is_stopped():
    engines = provider(processes=1, act="sleep", seconds=60)
    try:
        engines.start()
        started = time.monotonic()
        verdict = engines.call(IMAGE, timeout=1.0).verdict
        waited = time.monotonic() - started
        stuck = engines._pool
        engines.settings = Settings(extra={"act": "ok"})
        after = engines.call(IMAGE, timeout=30).verdict
    finally:
        engines.close()
    assert (verdict.outcome, verdict.code) == (Outcome.TRANSIENT, "timeout")
    assert waited < 10 and stuck is None and after.outcome is Outcome.SUCCESS


# --------------------------------------------------------------- kill -9 of bench collect

def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """pid -> start time of every process under ``root``."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents[int(entry.name)] = stat
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (_, ppid, started) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def _alive(pid: int, started: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[2] == started and stat[0] not in ("Z", "X")


def _holders(path: Path) -> list[int]:
    """Processes with ``path`` open."""
    target, holders = str(path.resolve()), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if target in links:
            holders.append(int(entry.name))
    return holders


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_kill_9_of_collect_leaves_no_worker_and_a_rerun_completes_without_duplicates(tmp_path: Path):
    from adapters.providers import tesseract
    if tesseract.available() is not None:
        pytest.skip(f"local engine unavailable: {tesseract.available()}")
    images, _, texts = make_set(tmp_path / "set", 30)
    out = tmp_path / "out"
    journal = out / "tesseract.journal.jsonl"
    command = bench_cmd("collect", "--provider", "tesseract", "--images", str(images), "--out", str(out),
                        "--concurrency", "2", "--no-progress")
    run = subprocess.Popen(command, cwd=tmp_path, env=bench_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (journal.exists() and len(journal.read_bytes().splitlines()) >= 3):
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "no image was journaled in 120 s"
            time.sleep(0.05)
        workers = _descendants(run.pid)
        assert len(workers) >= 2, workers  # two engine workers (and the tesseract runs under them)
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.kill()
        run.communicate()
    deadline = time.monotonic() + 5
    while any(_alive(pid, started) for pid, started in workers.items()) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid, started in workers.items() if _alive(pid, started)]
    assert survivors == [], f"processes of the killed collect still running: {survivors}"
    assert _holders(journal) == []
    before = {entry["image"] for entry in journal_lines_tolerant(journal)}

    started = time.monotonic()
    again = subprocess.run(command, cwd=tmp_path, env=bench_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{len(texts) - len(before)} collected, {len(before)} reused" in again.stdout
    assert time.monotonic() - started < 120
    lines = journal_lines(journal)
    per_image = Counter(entry["image"] for entry in lines if entry["status"] == "ok")
    assert set(per_image) == set(texts) and set(per_image.values()) == {1}  # nothing sent twice
    assert len(lines) == len(texts)


def journal_lines_tolerant(path: Path) -> list[dict]:
    """The complete lines of a journal whose last line a kill may have torn."""
    import json
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return entries
