"""`bench demo` (the README's main command) in a reduced form: two images, local engine, and a
web provider whose credentials point at a loopback emulator answering from the ground truth."""
from __future__ import annotations

import csv
import os
import pytest
import subprocess
import sys
from pathlib import Path

from adapters.emulators.emulator import Emulator, GtAnswers

SECRET = "demo-test-key-0123456789"

# `bench synth` and `bench demo` subprocesses, an emulator server and the Tesseract engine
pytestmark = pytest.mark.slow


def test_demo_runs_every_configured_provider_and_writes_the_report(tmp_path: Path):
    out = tmp_path / "demo"
    # the demo regenerates the same set (same seed), so the emulator can read its gt up front
    subprocess.run([sys.executable, "-m", "bench", "synth", "--out", str(out / "data"), "--images", "2",
                    "--seed", "7", "--no-progress"], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAVER_", "KAKAO_", "JENTI_"))}
    with Emulator("kakao", GtAnswers(out / "data" / "gt", out / "data" / "images"), secret=SECRET) as emulator:
        env.update(KAKAO_REST_API_KEY=SECRET, KAKAO_OCR_URL=emulator.url)
        done = subprocess.run([sys.executable, "-m", "bench", "demo", "--images", "2", "--seed", "7",
                               "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        assert len(emulator.requests) == 2  # one request per image, nothing re-sent
    assert f"report: {out / 'report' / 'report.html'}" in done.stdout
    assert "naver: no credentials set" in done.stderr and "jenti: no credentials set" in done.stderr
    assert SECRET not in done.stdout + done.stderr

    with open(out / "report" / "comparison.csv", encoding="utf-8-sig", newline="") as handle:
        rows = {row["provider"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 3
    kakao = next(row for name, row in rows.items() if name.startswith("kakao"))
    # the emulator answers with the gt words themselves: a perfect score proves the whole path
    assert float(kakao["det_hmean"]) == 1.0 and float(kakao["e2e_hmean"]) == 1.0
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert "kakao" in html and "tesseract" in html
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
