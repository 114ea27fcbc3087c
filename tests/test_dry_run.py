"""`bench collect --dry-run`: the run's own plan (one pure function), shown without a request.

The fast tests read journals written by the real collector (in this process, with a provider
that answers without I/O) or by hand, and run the CLI in this process against an endpoint that
nothing listens on: a dry run never sends, so nothing has to. The slow test checks the promise
end to end: what the dry run says it would send is exactly what the next run sends to an emulator.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.collection.fingerprint import request_fingerprint
from adapters.collection.journal import Journal
from adapters.core.credentials import ProviderConfig, Secret
from adapters.core.images import discover
from adapters.providers import registry
from adapters.providers.registry import Settings
from bench import app
from collect_support import bench_env, journal_entry, make_set, quiet_collect_args, render, run_bench, write_journal

SECRET = "dry-run-secret-123456"
URL = "http://127.0.0.1:9/ocr"  # the discard port: a request would fail, and none is made
runner = CliRunner()


def naver_request(lang: str | None = None) -> dict:
    config = ProviderConfig("naver", URL, Secret(SECRET), "NAVER_OCR_URL", "NAVER_OCR_SECRET")
    return request_fingerprint(registry.get("naver"), config, Settings(lang=lang))


def tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` with its bytes and modification time (a lock, a repair or a
    rewrite would show)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """`bench ARGS` in this process, in an empty folder (no .env), with only the given variables set."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("NAVER_", "KAKAO_", "JENTI_", "UPSTAGE_", "GOOGLE_VISION_", "AZURE_DI_", "OPENAI_")):
            monkeypatch.delenv(name)

    def invoke(args: list[str], **env: str):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return runner.invoke(app, args)
    return invoke


def collect_args(provider: str, images: Path, out: Path, *extra: str) -> list[str]:
    return ["collect", "--provider", provider, "--images", str(images), "--out", str(out), *extra]


# --- the CLI ------------------------------------------------------------------------------------

def test_dry_run_lists_what_would_be_sent_and_writes_nothing(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 6)
    found = discover(images)
    out = tmp_path / "out"
    write_journal(out, "naver", naver_request(), ok=found[:3], failed=found[3:4])
    render(found[2].path, "새 글자")
    before = tree(out)
    done = cli(collect_args("naver", images, out, "--dry-run", "--retry-failed", "--limit", "3"),
               NAVER_OCR_URL=URL, NAVER_OCR_SECRET=SECRET)
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"dry run: naver on 6 images in {images} -> {out}: nothing is sent")
    assert "would send 3 image(s), one request each (retries of transient errors come on top):" in lines
    assert f"  {found[2].key}  changed since it was collected" in lines
    assert f"  {found[3].key}  failed earlier, retried" in lines
    assert f"  {found[4].key}  new" in lines and f"  {found[5].key}  new" not in lines
    assert "to send: 1 new, 1 changed since collected, 1 failed earlier, retried" in lines
    assert "not sent: 2 reused (collected, unchanged), 1 held back by --limit 3" in lines
    assert "estimated cost of 3 image(s): unknown: the General (text) OCR price could not be confirmed" in done.stdout
    assert "give your own price with --prices FILE" in done.stdout
    assert "free quota, as the price entry states it: unknown" in done.stdout
    assert tree(out) == before  # no lock file, no repair, no outputs

    plain = cli(collect_args("naver", images, out, "--dry-run"))
    assert "not sent: 2 reused (collected, unchanged), 1 failed earlier and not retried (--retry-failed sends " \
           "them)" in plain.stdout


def test_missing_credentials_are_a_warning_and_out_stays_absent(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 2)
    out = tmp_path / "new" / "out"
    done = cli(collect_args("naver", images, out, "--dry-run"))
    assert done.exit_code == 0, done.output
    warnings = [line for line in done.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2
    assert warnings[0].startswith("warning: NAVER_OCR_URL is missing or empty")
    assert warnings[1].startswith("warning: NAVER_OCR_SECRET is missing or empty")
    assert all(w.endswith("a real run stops here (exit code 2)") for w in warnings)
    assert "would send 2 image(s)" in done.stdout
    assert not (tmp_path / "new").exists()
    real = cli(collect_args("naver", images, out))
    assert real.exit_code == 2 and "NAVER_OCR_URL is missing or empty" in real.output


def test_other_settings_in_out_are_refused_like_a_real_run(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 3)
    out = tmp_path / "out"
    write_journal(out, "naver", naver_request(lang="ko"), ok=discover(images)[:2])
    env = {"NAVER_OCR_URL": URL, "NAVER_OCR_SECRET": SECRET}
    dry = cli(collect_args("naver", images, out, "--lang", "ja", "--dry-run"), **env)
    real = cli(collect_args("naver", images, out, "--lang", "ja", "--no-progress"), **env)
    assert dry.exit_code == real.exit_code == 2
    [dry_error] = [line for line in dry.output.splitlines() if line.startswith("error:")]
    [real_error] = [line for line in real.output.splitlines() if line.startswith("error:")]
    assert dry_error == real_error and "this run asks lang=ja" in dry_error and "Nothing was sent" in dry_error
    refreshed = cli(collect_args("naver", images, out, "--lang", "ja", "--dry-run", "--refresh"), **env)
    assert refreshed.exit_code == 0 and "would send 3 image(s)" in refreshed.stdout
    assert "to send: 3 new" in refreshed.stdout.splitlines()  # answers of other settings are never reused
    same = cli(collect_args("naver", images, out, "--lang", "ko", "--dry-run", "--refresh"), **env)
    assert "to send: 1 new, 2 collected earlier, sent again (--refresh)" in same.stdout.splitlines()


def test_without_the_endpoint_the_one_out_holds_is_assumed_and_said(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 3)
    out = tmp_path / "out"
    write_journal(out, "naver", naver_request(), ok=discover(images)[:2])
    done = cli(collect_args("naver", images, out, "--dry-run"))
    assert done.exit_code == 0, done.output
    assert f"warning: NAVER_OCR_URL is not set: the endpoint is taken to be the one {out} holds " \
           f"(http://127.0.0.1:9/ocr)" in done.stdout
    assert "would send 1 image(s)" in done.stdout and "not sent: 2 reused" in done.stdout


def test_a_torn_journal_is_left_for_the_real_run(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 2)
    out = tmp_path / "out"
    path = write_journal(out, "naver", naver_request(), ok=discover(images)[:1])
    path.write_bytes(path.read_bytes() + b'{"v": 2, "ima')
    before = path.read_bytes()
    done = cli(collect_args("naver", images, out, "--dry-run"), NAVER_OCR_URL=URL, NAVER_OCR_SECRET=SECRET)
    assert done.exit_code == 0 and path.read_bytes() == before
    assert "the last line was cut short" in done.stdout and "would send 1 image(s)" in done.stdout


def test_out_that_cannot_be_a_folder_is_refused_as_a_run_would(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 1)
    (tmp_path / "file.txt").write_text("x")
    done = cli(collect_args("naver", images, tmp_path / "file.txt" / "out", "--dry-run"))
    assert done.exit_code == 2 and f"cannot write to {tmp_path / 'file.txt' / 'out'}" in done.output


def test_prices_goes_with_dry_run_and_required_options_are_still_required(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 1)
    table = tmp_path / "prices.csv"
    table.write_text("provider,krw_per_1000_images\nnaver,3000\n", encoding="utf-8")
    done = cli(collect_args("naver", images, tmp_path / "out", "--prices", str(table)))
    assert done.exit_code == 2 and "--prices goes with --dry-run" in done.output
    assert not (tmp_path / "out").exists()
    openai = cli(collect_args("openai", images, tmp_path / "out", "--dry-run"))
    assert openai.exit_code == 2 and "openai needs --model" in openai.output


def test_the_estimate_uses_your_price_table_and_states_the_free_quota(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 4)
    table = tmp_path / "prices.toml"
    table.write_text('[naver]\nkrw_per_1000_images = 3000\nusd_per_1000_images = 2.5\n'
                     'free_quota = "first 100 calls a month"\nchecked = 2026-11-30\n', encoding="utf-8")
    done = cli(collect_args("naver", images, tmp_path / "out", "--dry-run", "--prices", str(table)),
               NAVER_OCR_URL=URL, NAVER_OCR_SECRET=SECRET)
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert "estimated cost of 4 image(s): 12 KRW / 0.01 USD" in lines
    assert "  price: 3,000 KRW / 2.50 USD per 1,000 images" in lines
    assert f"  source: your price table ({table}) (checked 2026-11-30)" in lines
    assert "  free quota, as the price entry states it: first 100 calls a month (not deducted from the estimate)" \
        in lines
    google = cli(collect_args("google", images, tmp_path / "g", "--dry-run"))
    assert "estimated cost of 4 image(s): 0.006 USD" in google.stdout  # the built-in 1.50 USD per 1,000
    assert "free quota, as the price entry states it: first 1,000 units per month" in google.stdout
    assert "source: https://cloud.google.com/vision/pricing (checked 2026-12-01)" in google.stdout


def test_a_per_token_price_is_estimated_from_the_answers_out_holds(tmp_path, cli):
    images, _, _ = make_set(tmp_path / "data", 5)
    found = discover(images)
    out = tmp_path / "out"
    config = ProviderConfig("openai", "https://api.openai.com/v1", None, "OPENAI_BASE_URL", "OPENAI_API_KEY")
    request = request_fingerprint(registry.get("openai"), config, Settings(extra={"model": "gpt-4o-mini"}))
    raws = [{"choices": [], "usage": {"prompt_tokens": 1000 + 200 * k, "completion_tokens": 50}} for k in range(2)]
    path = out / "openai.journal.jsonl"
    with Journal(path) as journal:
        journal.load()
        for image, raw in zip(found, raws):
            journal.append(journal_entry(image, "ok", raw, request, "openai"))
    table = tmp_path / "prices.csv"
    table.write_text("provider,usd_per_1m_input_tokens,usd_per_1m_output_tokens\nopenai,0.15,0.60\n",
                     encoding="utf-8")
    done = cli(collect_args("openai", images, out, "--model", "gpt-4o-mini", "--dry-run", "--prices", str(table)))
    assert done.exit_code == 0, done.output
    # 1,100 input and 50 output tokens per image: 1,000 x (1100 x 0.15 + 50 x 0.60) / 1M = 0.195 USD per 1,000
    assert "estimated cost of 3 image(s): 0.000585 USD" in done.stdout.splitlines()
    assert "the cost is metered: 1,100.0 input tokens + 50.0 output tokens per image on average, from 2 answers " \
           f"collected in {out}" in done.stdout
    empty = cli(collect_args("openai", images, tmp_path / "none", "--model", "gpt-4o-mini", "--dry-run",
                             "--prices", str(table)))
    assert "estimated cost of 5 image(s): unknown: priced per token, and no answer collected in" in empty.stdout
    assert "collect a few images first (e.g. --limit 5), then run --dry-run again" in empty.stdout


# --- the promise, end to end --------------------------------------------------------------------

@pytest.mark.slow
def test_the_real_run_sends_exactly_what_the_dry_run_said(tmp_path):
    from adapters.emulators.emulator import Emulator, Faults, GtAnswers

    images, gt, _ = make_set(tmp_path / "data", 10)
    out = tmp_path / "out"
    with Emulator("naver", GtAnswers(gt), Faults(error_rate=1.0), secret=SECRET) as emulator:
        env = bench_env(NAVER_OCR_URL=emulator.url, NAVER_OCR_SECRET=SECRET)
        first = run_bench(quiet_collect_args("naver", images, out, "--limit", "3", "--max-attempts", "1"),
                          tmp_path, env)
        assert first.returncode == 5, first.stderr  # three images failed
        emulator.faults = Faults()
        second = run_bench(quiet_collect_args("naver", images, out, "--limit", "4"), tmp_path, env)
        assert second.returncode == 5 and "4 collected, 0 reused, 3 failed" in second.stdout, second.stderr
        render(images / "img_003.png", "바뀐 간판")
        before = tree(out)
        sent_so_far = len(emulator.requests)

        args = quiet_collect_args("naver", images, out, "--retry-failed", "--limit", "6")
        dry = run_bench([*args, "--dry-run"], tmp_path, env)
        assert dry.returncode == 0, dry.stderr
        assert len(emulator.requests) == sent_so_far and tree(out) == before
        [said] = [line for line in dry.stdout.splitlines() if line.startswith("would send ")]
        count = int(said.split()[2])
        listed = [line.split()[0] for line in dry.stdout.splitlines() if line.startswith("  img_")]
        assert count == 6 == len(listed)
        assert "to send: 2 new, 1 changed since collected, 3 failed earlier, retried" in dry.stdout

        real = run_bench(args, tmp_path, env)
        assert real.returncode == 0, real.stderr
        sent = emulator.requests[sent_so_far:]
        assert len(sent) == count
        assert sorted(record.image for record in sent) == sorted(listed)
