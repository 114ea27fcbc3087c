"""`bench collect` as a real subprocess against in-process emulators: exit codes, credentials,
secrets, kill -9 / Ctrl-C and resume, torn journal, and the local Tesseract engine."""
from __future__ import annotations

import fcntl
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from adapters.emulators.emulator import Emulator, Faults, GtAnswers
from adapters.providers.results import load_results
from collect_support import (all_output_text, bench_cmd, bench_env, journal_lines, make_set, render, run_bench)

SECRET = "cli-SECRET-7d2e0b-do-not-print"

# every test runs `bench` as a subprocess, most against emulator HTTP servers
pytestmark = pytest.mark.slow


def naver_env(emulator: Emulator, secret: str = SECRET) -> dict[str, str]:
    return bench_env(NAVER_OCR_URL=emulator.url, NAVER_OCR_SECRET=secret)


def collect_args(provider: str, images: Path, out: Path, *extra: str) -> list[str]:
    return ["collect", "--provider", provider, "--images", str(images), "--out", str(out), "--backoff", "0.01", *extra]


def wait_for_lines(path: Path, count: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        if process.poll() is not None:
            raise AssertionError(f"bench exited early: {process.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {count} lines")


@pytest.fixture
def dataset(tmp_path):
    return make_set(tmp_path / "data", 8)


def test_missing_credentials_stop_before_any_work(dataset, tmp_path):
    images, gt, _ = dataset
    out = tmp_path / "out"
    with Emulator("naver", GtAnswers(gt), secret=SECRET) as emulator:
        missing = run_bench(collect_args("naver", images, out), tmp_path, bench_env(NAVER_OCR_URL=emulator.url))
        empty = run_bench(collect_args("kakao", images, out), tmp_path, bench_env(KAKAO_REST_API_KEY=""))
        assert emulator.requests == []
    assert missing.returncode == 2 and "NAVER_OCR_SECRET" in missing.stderr
    assert empty.returncode == 2 and "KAKAO_REST_API_KEY" in empty.stderr
    assert not out.exists()


def test_duplicate_stems_are_an_input_error_naming_both(tmp_path):
    images = tmp_path / "images"
    render(images / "a" / "page.png", "서울")
    render(images / "b" / "page.jpg", "부산", fmt="JPEG")
    result = run_bench(collect_args("jenti", images, tmp_path / "out"), tmp_path,
                       bench_env(JENTI_OCR_URL="http://127.0.0.1:9/evaluation"))
    assert result.returncode == 2
    assert "a/page.png" in result.stderr and "b/page.jpg" in result.stderr
    assert not (tmp_path / "out").exists()


def test_env_file_credentials_failures_exit_5_and_no_secret_anywhere(dataset, tmp_path):
    images, gt, _ = dataset
    out = tmp_path / "out"
    with Emulator("naver", GtAnswers(gt), Faults(error_rate=0.6, seed=3), secret=SECRET) as emulator:
        (tmp_path / ".env").write_text(f"NAVER_OCR_URL={emulator.url}\nNAVER_OCR_SECRET={SECRET}\n", encoding="utf-8")
        result = run_bench(collect_args("naver", images, out, "--max-attempts", "2"), tmp_path, bench_env())
        assert emulator.requests, "the .env credentials were not used"
    assert result.returncode == 5, result.stderr
    assert "failed" in result.stderr and "--retry-failed" in result.stderr
    summary_line = result.stdout.strip().splitlines()[-1]
    assert summary_line.startswith("naver: 8 images:") and "remain" in summary_line
    for name in ("naver.json", "naver.normalized.json", "naver.runs.csv", "naver.journal.jsonl"):
        assert (out / name).is_file()
    assert SECRET not in all_output_text(out) + result.stdout + result.stderr


def test_auth_error_exits_3_and_quota_exits_4_with_remaining_count(dataset, tmp_path):
    images, gt, _ = dataset
    with Emulator("naver", GtAnswers(gt), secret="another-secret") as emulator:
        auth = run_bench(collect_args("naver", images, tmp_path / "a", "--concurrency", "1"), tmp_path,
                         naver_env(emulator))
        assert len(emulator.requests) == 1
    assert auth.returncode == 3
    assert "NAVER_OCR_SECRET" in auth.stderr and "8 remain" in auth.stderr and "CLOVA 0002" in auth.stderr
    assert SECRET not in auth.stderr + auth.stdout + all_output_text(tmp_path / "a")

    with Emulator("kakao", GtAnswers(gt), Faults(quota=3), secret=SECRET) as emulator:
        quota = run_bench(collect_args("kakao", images, tmp_path / "q", "--concurrency", "2"), tmp_path,
                          bench_env(KAKAO_OCR_URL=emulator.url, KAKAO_REST_API_KEY=SECRET))
    assert quota.returncode == 4
    assert "kakao quota exhausted after 3 images (Kakao -10" in quota.stderr
    assert "5 remain: run again when it resets" in quota.stderr
    assert len(json.loads((tmp_path / "q" / "kakao.json").read_text())) == 3
    assert SECRET not in quota.stderr + quota.stdout + all_output_text(tmp_path / "q")


@pytest.mark.parametrize("option", ["--rps", "--timeout", "--backoff"])
def test_infinite_option_values_are_input_errors(option, dataset, tmp_path):
    images, gt, _ = dataset
    with Emulator("jenti", GtAnswers(gt)) as emulator:
        result = run_bench(collect_args("jenti", images, tmp_path / "out", option, "inf"), tmp_path,
                           bench_env(JENTI_OCR_URL=emulator.url))
        assert emulator.requests == []
    assert result.returncode == 2, result.stderr
    assert f"{option} must be a finite number" in result.stderr and "Traceback" not in result.stderr


def test_a_second_run_on_the_same_out_fails_fast_without_sending(dataset, tmp_path):
    images, gt, expected = dataset
    out = tmp_path / "out"
    out.mkdir()
    held = open(out / "jenti.journal.jsonl", "ab")
    fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a running `bench collect` holds
    with Emulator("jenti", GtAnswers(gt)) as emulator:
        env = bench_env(JENTI_OCR_URL=emulator.url)
        second = run_bench(collect_args("jenti", images, out), tmp_path, env)
        assert emulator.requests == []
        held.close()  # the first run ends (or is killed: the kernel drops the lock either way)
        after = run_bench(collect_args("jenti", images, out), tmp_path, env)
        assert all(emulator.calls_for(stem) == 1 for stem in expected)
    assert second.returncode == 2, second.stderr
    assert f"another bench collect is writing to {out}" in second.stderr
    assert after.returncode == 0, after.stderr


def test_kill_9_mid_run_then_resume_loses_nothing_and_repeats_nothing_stored(tmp_path):
    images, gt, expected = make_set(tmp_path / "data", 24)
    out = tmp_path / "out"
    journal = out / "naver.journal.jsonl"
    with Emulator("naver", GtAnswers(gt), Faults(latency_ms=150), secret=SECRET) as emulator:
        env = naver_env(emulator)
        process = subprocess.Popen(bench_cmd(*collect_args("naver", images, out, "--concurrency", "2")),
                                   cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_lines(journal, 5, process)
        process.kill()
        process.wait(timeout=10)
        time.sleep(0.3)  # let the emulator finish answering the requests that were in flight
        complete = journal.read_bytes().split(b"\n")[:-1]  # a line torn by the kill has no newline yet
        before = {json.loads(line)["image"] for line in complete}
        assert 5 <= len(before) < 24
        resumed = run_bench(collect_args("naver", images, out, "--concurrency", "4"), tmp_path, env)
        assert resumed.returncode == 0, resumed.stderr
        counts = {stem: emulator.calls_for(stem) for stem in expected}
    assert all(counts[stem] == 1 for stem in before)  # stored images are never requested again
    repeated = [stem for stem, n in counts.items() if n > 1]
    assert all(counts[stem] == 2 for stem in repeated) and len(repeated) <= 2  # only those in flight at the kill
    entries = journal_lines(journal)
    assert sorted(e["image"] for e in entries) == sorted(expected)  # no duplicate, no loss
    stored = json.loads((out / "naver.json").read_text(encoding="utf-8"))
    assert set(stored) == set(expected)
    assert f"{len(before)} reused" in resumed.stdout


def test_ctrl_c_persists_and_exits_130(tmp_path):
    images, gt, expected = make_set(tmp_path / "data", 20)
    out = tmp_path / "out"
    with Emulator("jenti", GtAnswers(gt), Faults(latency_ms=150)) as emulator:
        process = subprocess.Popen(bench_cmd(*collect_args("jenti", images, out, "--concurrency", "2")),
                                   cwd=tmp_path, env=bench_env(JENTI_OCR_URL=emulator.url),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_lines(out / "jenti.journal.jsonl", 3, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
        sent = len(emulator.requests)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    journaled = {e["image"] for e in journal_lines(out / "jenti.journal.jsonl")}
    assert sent == len(journaled) < 20  # in-flight requests finished and were kept; nothing new was sent
    assert set(json.loads((out / "jenti.json").read_text())) == journaled
    assert "remain" in stdout


def test_torn_last_journal_line_is_dropped_and_only_that_image_is_resent(dataset, tmp_path):
    images, gt, expected = dataset
    out = tmp_path / "out"
    journal = out / "jenti.journal.jsonl"
    with Emulator("jenti", GtAnswers(gt)) as emulator:
        env = bench_env(JENTI_OCR_URL=emulator.url)
        assert run_bench(collect_args("jenti", images, out), tmp_path, env).returncode == 0
        data = journal.read_bytes()
        last_start = data.rstrip(b"\n").rfind(b"\n") + 1
        torn_image = json.loads(data[last_start:])["image"]
        journal.write_bytes(data[: last_start + (len(data) - last_start) // 2])  # kill -9 mid-write
        again = run_bench(collect_args("jenti", images, out), tmp_path, env)
        counts = {stem: emulator.calls_for(stem) for stem in expected}
    assert again.returncode == 0 and "cut short" in again.stderr
    assert counts == {stem: 2 if stem == torn_image else 1 for stem in expected}
    assert sorted(e["image"] for e in journal_lines(journal)) == sorted(expected)


def test_tesseract_collect_then_eval(tmp_path):
    images, gt = tmp_path / "images", tmp_path / "gt"
    gt.mkdir()
    words = {"sign_a": "서울", "sign_b": "대한민국", "sign_c": "부산항"}
    for stem, text in words.items():
        x0, y0, x1, y1 = render(images / f"{stem}.png", text, size=(360, 120), font_size=56)
        (gt / f"gt_{stem}.txt").write_text(f"{x0},{y0},{x1},{y0},{x1},{y1},{x0},{y1},{text}\n", encoding="utf-8")
    out = tmp_path / "runs" / "x"
    collected = run_bench(["collect", "--provider", "tesseract", "--images", str(images), "--out", str(out),
                           "--psm", "7", "--concurrency", "2"], tmp_path, bench_env(), timeout=120)
    assert collected.returncode == 0, collected.stderr
    results = load_results(out / "tesseract.json")
    assert results.provider == "tesseract"
    assert {stem: "".join(i.text for i in r.items) for stem, r in results.images.items()} == words
    raw = json.loads((out / "tesseract.json").read_text(encoding="utf-8"))
    assert {r["psm"] for r in raw.values()} == {7}
    scored = run_bench(["eval", "--api_res_json", str(out / "tesseract.json"), "--txt_gt_dir", str(gt)],
                       tmp_path, bench_env())
    assert scored.returncode == 0, scored.stderr
    assert "tesseract" in scored.stdout
