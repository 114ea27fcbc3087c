"""Upstage, Cloud Vision, Azure and OpenAI-compatible chat end to end: `bench collect` as a real
subprocess against loopback emulators of each wire (`bench emulate` itself, or in-process
emulators whose request log the tests read), then `bench eval` / `bench report` on the results.

Faults are drawn per request, so every run uses ``--concurrency 1`` to keep the draws in order.
"""
from __future__ import annotations

import csv
import io
import json
import queue
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import requests
from PIL import Image

from adapters.core.images import PreparedImage
from adapters.emulators.emulator import Emulator, Faults, GtAnswers
from adapters.providers import azure, google, registry
from adapters.providers.base import Outcome
from adapters.providers.results import load_results
from collect_support import all_output_text, bench_cmd, bench_env, make_set, run_bench

pytestmark = pytest.mark.slow

PROVIDERS = ("upstage", "google", "azure", "openai")
SECRET = "web-SECRET-5a1f9c-do-not-print"
EXTRA = {"openai": ("--model", "emulated-ocr")}  # options a provider cannot run without
TIMEOUT = 120


def env_for(provider: str, url: str, secret: str | None = SECRET) -> dict[str, str]:
    spec = registry.get(provider)
    values = {spec.url_variable: url}
    if secret is not None:
        values[spec.secret_variable] = secret
    return bench_env(**values)


def collect(provider: str, images: Path, out: Path, cwd: Path, env: dict[str, str], *extra: str,
            options: tuple[str, ...] | None = None) -> subprocess.CompletedProcess:
    args = ["collect", "--provider", provider, "--images", str(images), "--out", str(out), "--backoff", "0.01",
            "--concurrency", "1", "--no-progress", *(EXTRA.get(provider, ()) if options is None else options), *extra]
    return run_bench(args, cwd, env, timeout=TIMEOUT)


def statuses_by_image(emulator: Emulator) -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for record in emulator.requests:
        found.setdefault(record.image, []).append((record.status, record.fault))
    return found


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    return make_set(tmp_path / "data", 5)


# ---------------------------------------------------------------- bench emulate -> collect -> eval / report

def _start_emulate(provider: str, gt: Path, images: Path, cwd: Path) -> tuple[subprocess.Popen, str]:
    env = {**env_for(provider, "http://unused"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(bench_cmd("emulate", provider, "--port", "0", "--gt", str(gt), "--images", str(images)),
                               cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    while True:
        line = lines.get(timeout=30)
        if line.startswith(f"emulating {provider} at "):
            return process, line.split(" at ", 1)[1].strip()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_collect_against_bench_emulate_then_eval_and_report(provider, dataset, tmp_path):
    images, gt, expected = dataset
    out = tmp_path / "out"
    process, url = _start_emulate(provider, gt, images, tmp_path)
    try:
        done = collect(provider, images, out, tmp_path, env_for(provider, url))
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith(f"{provider}: 5 images: 5 collected")
    assert process.returncode == 130 and SECRET not in stderr
    assert SECRET not in all_output_text(out) + done.stdout + done.stderr

    # the format is read from the content, whatever the file is called
    renamed = tmp_path / "results.json"
    shutil.copy(out / f"{provider}.json", renamed)
    for source in (renamed, out / f"{provider}.normalized.json"):
        results = load_results(source)
        assert results.provider == provider and set(results.images) == set(expected)
        texts = {stem: [item.text for item in result.items] for stem, result in results.images.items()}
        assert texts == {stem: [text] for stem, text in expected.items()}
        scored = run_bench(["eval", "--api_res_json", str(source), "--txt_gt_dir", str(gt), "--out",
                            str(tmp_path / f"eval-{source.name}")], tmp_path, bench_env(), timeout=TIMEOUT)
        assert scored.returncode == 0, scored.stderr
        summary = json.loads((tmp_path / f"eval-{source.name}" / "summary.json").read_text(encoding="utf-8"))
        assert summary["provider"] == provider

    report = run_bench(["report", str(renamed), str(out / f"{provider}.normalized.json"), "--txt_gt_dir", str(gt),
                        "--out", str(tmp_path / "report"), "--bootstrap", "20", "--no-progress"], tmp_path,
                       bench_env(), timeout=TIMEOUT)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "</html>" in html and provider in html
    with open(tmp_path / "report" / "comparison.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    for row in rows:
        if registry.get(provider).geometry:  # the emulator answers with the gt words: a perfect score
            assert float(row["det_hmean"]) == 1.0 and float(row["e2e_hmean"]) == 1.0
        else:  # line items without boxes: nothing to match by position ("–"), scored on the page's text
            assert row["det_hmean"] == "" and row["e2e_hmean"] == "" and float(row["page_cer"]) >= 0.0
    # latency comes from <provider>.runs.csv next to the results (the renamed copy has none)
    assert [float(row["latency_p50_ms"]) > 0 for row in rows if row["source"].startswith(str(out))] == [True]


# ---------------------------------------------------------------- faults, against in-process emulators

@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rate_limit_is_retried_after_its_retry_after(provider, dataset, tmp_path):
    images, gt, expected = dataset
    with Emulator(provider, GtAnswers(gt, images), Faults(rate_limit_rate=0.4, retry_after=0.3, seed=4),
                  secret=SECRET) as emulator:
        done = collect(provider, images, tmp_path / "out", tmp_path, env_for(provider, emulator.url),
                       "--max-attempts", "10")
        log = emulator.requests
    assert done.returncode == 0, done.stderr
    limited = [k for k, record in enumerate(log) if record.fault == "rate_limit"]
    assert limited, "the seed drew no rate limit"
    for k in limited:  # the next request for that image waited at least the Retry-After
        later = next(r for r in log[k + 1:] if r.image == log[k].image)
        assert later.time - log[k].time >= 0.3 - 0.02
    assert set(load_results(tmp_path / "out" / f"{provider}.json").images) == set(expected)


@pytest.mark.parametrize("fault", ["error", "truncate", "drop"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_server_errors_cut_bodies_and_dropped_connections_are_retried(provider, fault, dataset, tmp_path):
    images, gt, expected = dataset
    faults = Faults(**{f"{fault}_rate": 0.4}, seed=2)
    with Emulator(provider, GtAnswers(gt, images), faults, secret=SECRET) as emulator:
        done = collect(provider, images, tmp_path / "out", tmp_path, env_for(provider, emulator.url),
                       "--max-attempts", "10", "--timeout", "10")
        log = emulator.requests
    assert done.returncode == 0, done.stderr
    hit = [record for record in log if record.fault == fault]
    assert hit, "the seed drew no fault"
    if fault == "error":
        assert {record.status for record in hit} <= {500, 503}
    results = load_results(tmp_path / "out" / f"{provider}.normalized.json")
    assert set(results.images) == set(expected) and all(result.is_ok for result in results.images.values())
    with open(tmp_path / "out" / f"{provider}.runs.csv", encoding="utf-8-sig", newline="") as handle:
        assert max(int(row["attempts"]) for row in csv.DictReader(handle)) >= 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_exhausted_quota_stops_the_run_with_exit_4(provider, dataset, tmp_path):
    images, gt, expected = dataset
    out = tmp_path / "out"
    with Emulator(provider, GtAnswers(gt, images), Faults(quota=2), secret=SECRET) as emulator:
        done = collect(provider, images, out, tmp_path, env_for(provider, emulator.url))
        sent = sum(emulator.calls_for(stem) for stem in expected)  # POSTs (Azure's polls are not counted)
    assert done.returncode == 4, done.stderr
    assert f"{provider} quota exhausted after 2 images" in done.stderr and "3 remain" in done.stderr
    assert len(json.loads((out / f"{provider}.json").read_text(encoding="utf-8"))) == 2
    assert sent == 3  # nothing is sent after the quota answer
    assert SECRET not in all_output_text(out) + done.stdout + done.stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rejected_credentials_stop_the_run_with_exit_3(provider, dataset, tmp_path):
    images, gt, _ = dataset
    out = tmp_path / "out"
    with Emulator(provider, GtAnswers(gt, images), secret="the-right-key-0123456789") as emulator:
        done = collect(provider, images, out, tmp_path, env_for(provider, emulator.url))
        assert len(emulator.requests) == 1
    assert done.returncode == 3, done.stderr
    assert registry.get(provider).secret_variable in done.stderr and "5 remain" in done.stderr
    assert SECRET not in all_output_text(out) + done.stdout + done.stderr


# ---------------------------------------------------------------- Azure: 202, polling, granularity

def test_azure_accepts_with_202_and_answers_the_polls(dataset, tmp_path):
    images, gt, expected = dataset
    with Emulator("azure", GtAnswers(gt, images), secret=SECRET, poll_after=0.05) as emulator:
        done = collect("azure", images, tmp_path / "out", tmp_path, env_for("azure", emulator.url))
        per_image = statuses_by_image(emulator)
    assert done.returncode == 0, done.stderr
    # POST -> 202, first GET -> running, second GET -> succeeded
    assert per_image == {stem: [(202, ""), (200, ""), (200, "")] for stem in expected}
    assert all(emulator.calls_for(stem) == 1 for stem in expected)  # polls are not new requests


def test_azure_unreadable_image_is_a_failed_analysis(tmp_path):
    _, gt, _ = make_set(tmp_path / "data", 1)
    with Emulator("azure", GtAnswers(gt), secret=SECRET, poll_after=0.05) as emulator:
        provider = azure.AzureProvider(emulator.url, SECRET)
        broken = PreparedImage("broken", "broken.png", "png", b"\x89PNG not really", 10, 10, 10, 10)
        attempt = provider.call(broken, 10.0)
        provider.close()
        statuses = [record.status for record in emulator.requests]
    assert statuses == [202, 200, 200]
    assert attempt.verdict.outcome is Outcome.PERMANENT and "InvalidContent" in attempt.verdict.code
    assert not azure.parse(attempt.verdict.body).is_ok


def test_azure_words_are_recorded_so_the_raw_file_reads_back_as_words(dataset, tmp_path):
    images, gt, expected = dataset
    out = tmp_path / "out"
    with Emulator("azure", GtAnswers(gt, images), secret=SECRET, poll_after=0.05) as emulator:
        done = collect("azure", images, out, tmp_path, env_for("azure", emulator.url), "--granularity", "word")
    assert done.returncode == 0, done.stderr
    raw = json.loads((out / "azure.json").read_text(encoding="utf-8"))
    assert {body[azure.GRANULARITY_KEY] for body in raw.values()} == {"word"}
    for source in (out / "azure.json", out / "azure.normalized.json"):
        results = load_results(source)
        for stem, text in expected.items():
            items = results.images[stem].items
            assert {item.granularity for item in items} == {"word"} and "".join(i.text for i in items) == text
    refused = collect("azure", images, tmp_path / "x", tmp_path, env_for("azure", "http://127.0.0.1:9"),
                      "--granularity", "region")
    assert refused.returncode == 2 and "--granularity 'region': azure takes line or word" in refused.stderr


# ---------------------------------------------------------------- OpenAI-compatible chat

def test_openai_without_a_model_stops_before_any_request(dataset, tmp_path):
    images, gt, _ = dataset
    with Emulator("openai", GtAnswers(gt, images), secret=SECRET) as emulator:
        done = collect("openai", images, tmp_path / "out", tmp_path, env_for("openai", emulator.url), options=())
        assert emulator.requests == []
    assert done.returncode == 2 and "openai needs --model" in done.stderr
    assert not (tmp_path / "out").exists()


def test_openai_runs_without_a_key_against_a_local_server(dataset, tmp_path):
    images, gt, expected = dataset
    with Emulator("openai", GtAnswers(gt, images), secret=None) as emulator:  # a vLLM / Ollama server
        done = collect("openai", images, tmp_path / "out", tmp_path, env_for("openai", emulator.url, secret=None),
                       "--prompt", "Read the sign.")
    assert done.returncode == 0, done.stderr
    assert set(load_results(tmp_path / "out" / "openai.json").images) == set(expected)


def test_openai_error_bodies_name_their_codes(dataset, tmp_path):
    images, gt, _ = dataset
    with Emulator("openai", GtAnswers(gt, images), secret="another-key-0123456789") as emulator:
        auth = collect("openai", images, tmp_path / "a", tmp_path, env_for("openai", emulator.url))
    with Emulator("openai", GtAnswers(gt, images), Faults(quota=0), secret=SECRET) as emulator:
        quota = collect("openai", images, tmp_path / "q", tmp_path, env_for("openai", emulator.url))
    with Emulator("openai", GtAnswers(gt, images), Faults(error_rate=1.0), secret=SECRET) as emulator:
        failing = collect("openai", images, tmp_path / "f", tmp_path, env_for("openai", emulator.url),
                          "--max-attempts", "2")
    assert auth.returncode == 3 and "chat API invalid_api_key: Incorrect API key provided." in auth.stderr
    assert quota.returncode == 4 and "chat API insufficient_quota: You exceeded your current quota" in quota.stderr
    assert failing.returncode == 5, failing.stderr
    with open(tmp_path / "f" / "openai.runs.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["error_class"] for row in rows} == {"TransientError"}
    assert {row["error_code"] for row in rows} == {"chat API server_error"}


# ---------------------------------------------------------------- Cloud Vision: the key

def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_google_emulator_takes_the_key_in_the_header_or_the_query(tmp_path):
    _, gt, _ = make_set(tmp_path / "data", 1)
    image = PreparedImage("x", "x.png", "png", _png(), 40, 20, 40, 20)
    with Emulator("google", GtAnswers(gt), secret=SECRET) as emulator:
        def post(key: str, key_in: str) -> requests.Response:
            request = google.build_request(image, emulator.url, key, key_in=key_in)
            return requests.post(request.url, data=request.body, headers=dict(request.headers), timeout=10)
        assert post(SECRET, "header").status_code == 200
        assert post(SECRET, "query").status_code == 200
        assert post("wrong", "query").status_code == 400 and "API_KEY_INVALID" in post("wrong", "header").text


# ---------------------------------------------------------------- bench emulate's checks

@pytest.mark.parametrize("provider", ["google", "azure", "openai"])
def test_bench_emulate_needs_images_to_recognise_nameless_requests(provider, dataset, tmp_path):
    _, gt, _ = dataset
    done = run_bench(["emulate", provider, "--port", "0", "--gt", str(gt)], tmp_path, bench_env())
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {provider} requests carry no file name: with --gt, give --images DIR "
                                   "(the original images) so each image received is recognised by its content")


def test_bench_emulate_help_lists_every_emulated_provider(tmp_path):
    done = run_bench(["emulate", "--help"], tmp_path, bench_env())
    assert done.returncode == 0
    assert "<" + "|".join(spec.name for spec in registry.emulated()) + ">" in done.stdout
    assert all(name in done.stdout for name in PROVIDERS)

