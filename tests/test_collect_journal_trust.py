"""Trust under faults and bad input, collection part: the journal.

3. kill -9 of the collector mid-run, then an immediate re-run, for a web provider and for
   Tesseract (whose worker processes must not keep the journal locked); stale locks are taken
   over, live ones still refuse;
5. a damaged journal line, or a valid JSON line of the wrong shape, costs only its image.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from adapters.collection.journal import Journal
from adapters.core.errors import InputError
from adapters.emulators.emulator import Emulator, Faults, GtAnswers
from collect_support import (REPO, Answering, bench_cmd, bench_env, collect_quietly, journal_lines, make_set,
                             quiet_collect_args, run_bench, runs_rows, stored, wait_for_lines)


# --- 3. kill -9 then re-run; stale locks -----------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            queue += children
    return found


def _kill_leftovers(pids: list[int]) -> None:
    """Kill processes this test started (by id) that outlived their parent."""
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"python" in cmdline or b"tesseract" in cmdline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _kill_9_then_rerun(provider: str, images: Path, out: Path, cwd: Path, env: dict[str, str], lines: int,
                       *extra: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    journal = out / f"{provider}.journal.jsonl"
    process = subprocess.Popen(bench_cmd(*quiet_collect_args(provider, images, out, *extra)), cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: list[int] = []
    try:
        wait_for_lines(journal, lines, process)
        children = _descendants(process.pid)
        process.kill()  # the collector alone, as the OOM killer would: its children are left to fend for themselves
        process.wait(timeout=10)
        complete = journal.read_bytes().split(b"\n")[:-1]
        before = {json.loads(line)["image"] for line in complete}
        again = run_bench(quiet_collect_args(provider, images, out, *extra), cwd, env, timeout=180)  # at once
    finally:
        if process.poll() is None:
            process.kill()
        _kill_leftovers(children)
    return again, before


@pytest.mark.slow
def test_kill_9_of_a_web_run_then_an_immediate_rerun_completes_with_each_image_once(tmp_path):
    images, gt, expected = make_set(tmp_path / "data", 24)
    out = tmp_path / "out"
    with Emulator("naver", GtAnswers(gt), Faults(latency_ms=200), secret="emu-secret-0123456789") as emulator:
        env = bench_env(NAVER_OCR_URL=emulator.url, NAVER_OCR_SECRET="emu-secret-0123456789")
        again, before = _kill_9_then_rerun("naver", images, out, tmp_path, env, 5, "--concurrency", "4")
        counts = {stem: emulator.calls_for(stem) for stem in expected}
    assert again.returncode == 0, again.stderr
    assert 5 <= len(before) < 24 and all(counts[stem] == 1 for stem in before)
    entries = journal_lines(out / "naver.journal.jsonl")
    assert sorted(e["image"] for e in entries) == sorted(expected)  # nothing lost, nothing twice
    assert set(stored(out, "naver")) == set(expected)
    rows = runs_rows(out, "naver")
    assert sorted(r["image"] for r in rows) == sorted(expected)
    assert f"{len(before)} reused" in again.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")
def test_kill_9_of_a_tesseract_run_then_an_immediate_rerun_is_not_blocked_by_its_workers(tmp_path):
    images, _, expected = make_set(tmp_path / "data", 24, size=(900, 300))
    out = tmp_path / "out"
    again, before = _kill_9_then_rerun("tesseract", images, out, tmp_path, bench_env(), 3, "--concurrency", "2")
    assert again.returncode == 0, again.stderr  # was: "another bench collect is writing" (workers held the lock)
    assert 3 <= len(before) < 24
    entries = journal_lines(out / "tesseract.journal.jsonl")
    assert sorted(e["image"] for e in entries) == sorted(expected)
    assert set(stored(out, "tesseract")) == set(expected)


def _sleep_forever(started) -> None:
    started.set()
    time.sleep(60)


@pytest.mark.slow
def test_forked_children_do_not_keep_the_journal_locked(tmp_path):
    path = tmp_path / "out" / "j.jsonl"
    journal = Journal(path)
    journal.lock()
    context = multiprocessing.get_context("fork")
    started = context.Event()
    child = context.Process(target=_sleep_forever, args=(started,))
    child.start()  # e.g. an engine worker, which would outlive a killed collector
    try:
        assert started.wait(20)
        journal.close()  # the collector is gone
        successor = Journal(path)
        successor.lock()  # was: refused for as long as the child lived
        successor.close()
    finally:
        child.kill()
        child.join()


_HOLDER = textwrap.dedent("""
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_APPEND)
    fcntl.flock(fd, fcntl.LOCK_EX)
    if sys.argv[2] == "orphan":  # a child keeps the locked file open; the run that took the lock dies
        child = os.fork()
        if child == 0:
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 2)
            time.sleep(60)
            os._exit(0)
        print(child, flush=True)
        os._exit(0)
    print(os.getpid(), flush=True)
    time.sleep(60)
""")

_TRY_LOCK = textwrap.dedent("""
    import sys
    from adapters.collection.journal import Journal
    from adapters.core.errors import InputError
    try:
        Journal(sys.argv[1]).lock()
    except InputError as exc:
        print("refused:", exc)
    else:
        print("locked")
""")


@pytest.mark.slow
def test_a_lock_left_by_a_dead_run_is_taken_over_and_a_live_one_still_refuses(tmp_path, caplog):
    path = tmp_path / "out" / "naver.journal.jsonl"
    path.parent.mkdir()
    orphan = int(subprocess.run([sys.executable, "-c", _HOLDER, str(path), "orphan"], capture_output=True, text=True,
                                timeout=20).stdout)
    try:
        taker = Journal(path)
        with caplog.at_level("WARNING", logger="bench"):
            taker.lock()  # the run that took the lock is dead; only its leftover child holds the file
        assert "took over the lock of a bench collect that is no longer running" in caplog.text
        rival = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(path)], capture_output=True, text=True,
                               cwd=REPO, timeout=20)
        assert rival.stdout.startswith("refused: another bench collect is writing"), rival.stdout + rival.stderr
        taker.close()
    finally:
        _kill_leftovers([orphan])

    live = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), "live"], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(live.stdout.readline())
        with pytest.raises(InputError, match=f"another bench collect is writing to .*locked by process {pid}"):
            Journal(path).lock()
    finally:
        live.kill()
        live.wait()
    Journal(path).lock()  # the kernel dropped the live holder's lock with it


# --- 5. a damaged journal line -------------------------------------------------------------------

def test_damaged_and_wrongly_shaped_journal_lines_cost_only_their_images(tmp_path, caplog):
    images, _, _ = make_set(tmp_path / "data", 6)
    out = tmp_path / "out"
    collect_quietly(Answering(), images, out)
    journal = out / "fake.journal.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    damaged = {json.loads(lines[1])["image"], json.loads(lines[3])["image"]}
    lines[1] = "{not json at all\n"  # edited by hand, or a disk error
    lines[3] = json.dumps({"image": 7, "status": "ok", "note": "valid JSON, not a record"}) + "\n"
    journal.write_text("".join(lines), encoding="utf-8")
    provider = Answering()
    with caplog.at_level("WARNING", logger="bench"):
        summary = collect_quietly(provider, images, out)
    assert sorted(provider.calls) == sorted(damaged) and summary.reused == 4
    assert f"{journal}, lines 2, 4: not a journal record" in caplog.text
    assert set(stored(out)) == {f"img_{k:03d}" for k in range(6)}


@pytest.mark.slow
def test_cli_damaged_middle_line_is_a_warning_and_only_that_image_is_resent(tmp_path):
    images, gt, expected = make_set(tmp_path / "data", 5)
    out = tmp_path / "out"
    journal = out / "jenti.journal.jsonl"
    with Emulator("jenti", GtAnswers(gt)) as emulator:
        env = bench_env(JENTI_OCR_URL=emulator.url)
        assert run_bench(quiet_collect_args("jenti", images, out), tmp_path, env).returncode == 0
        lines = journal.read_bytes().splitlines(keepends=True)
        hurt = json.loads(lines[2])["image"]
        lines[2] = b"\x00\xff garbage\n"
        journal.write_bytes(b"".join(lines))
        again = run_bench(quiet_collect_args("jenti", images, out), tmp_path, env)
        counts = {stem: emulator.calls_for(stem) for stem in expected}
    assert again.returncode == 0, again.stderr
    assert "line 3: not a journal record" in again.stderr
    assert counts == {stem: 2 if stem == hurt else 1 for stem in expected}
