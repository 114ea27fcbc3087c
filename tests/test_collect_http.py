"""The collector end to end against the loopback emulators (real HTTP on 127.0.0.1, nothing patched).

Every image's gt has its own text, so a response stored under the wrong image is caught.
"""
from __future__ import annotations

import csv
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from adapters.providers import naver
from adapters.collection.collector import CollectOptions, Summary, collect
from adapters.core.credentials import ProviderConfig, Secret
from adapters.emulators.emulator import Emulator, Faults, GtAnswers, RecordedAnswers
from adapters.core.errors import AuthError, QuotaExhausted
from adapters.providers.results import load_results
from adapters.core.images import discover
from adapters.providers.base import HttpProvider, Provider, make_provider
from adapters.providers.registry import Settings
from adapters.core.schema import parse_result_set
from collect_support import gt_line, journal_lines, make_set, render, write_bomb_png

SECRET = "emu-secret-4f1c9a"

# every test starts emulator HTTP servers on 127.0.0.1
pytestmark = pytest.mark.slow


def run(provider: str, emulator: Emulator, images: Path, out: Path, secret: str = SECRET,
        engine: Provider | None = None, **options) -> Summary:
    config = ProviderConfig(provider, emulator.url, None if provider == "jenti" else Secret(secret),
                            secret_variable={"naver": "NAVER_OCR_SECRET", "kakao": "KAKAO_REST_API_KEY"}.get(provider))
    options = {"progress": False, "backoff_base": 0.01, "seed": 0, **options}
    engine = engine or make_provider(config, Settings(pool_size=options.get("concurrency", 4)))
    try:
        return collect(engine, discover(images), out, CollectOptions(**options), secrets=config.secrets(),
                       auth_hint=f"check {config.secret_variable}", report=lambda line: None)
    finally:
        engine.close()


def runs_csv(out: Path, provider: str) -> dict[str, dict[str, str]]:
    with open(out / f"{provider}.runs.csv", encoding="utf-8-sig", newline="") as handle:
        return {row["image"]: row for row in csv.DictReader(handle)}


def texts(out: Path, provider: str) -> dict[str, str]:
    """What `bench eval` would read from <provider>.json: the recognized text per image."""
    results = load_results(out / f"{provider}.json")
    assert results.provider == provider
    return {stem: "".join(item.text for item in result.items).replace(" ", "")
            for stem, result in results.images.items()}


@pytest.fixture
def dataset(tmp_path):
    return make_set(tmp_path / "data", 12)


@pytest.mark.parametrize("provider", ["naver", "kakao", "jenti"])
def test_each_provider_end_to_end_with_mixed_faults(provider, dataset, tmp_path):
    images, gt, expected = dataset
    faults = Faults(error_rate=0.15, rate_limit_rate=0.1, retry_after=0.05, drop_rate=0.1, truncate_rate=0.1, seed=7)
    with Emulator(provider, GtAnswers(gt, images), faults, secret=SECRET) as emulator:
        summary = run(provider, emulator, images, tmp_path / "out", concurrency=4, max_attempts=12)
        log = emulator.requests
    assert (summary.collected, summary.failed, summary.remain) == (12, 0, 0)
    assert texts(tmp_path / "out", provider) == expected  # each response under its own image
    rows = runs_csv(tmp_path / "out", provider)
    assert sum(int(r["attempts"]) for r in rows.values()) == len(log) == summary.calls
    assert summary.retried == len(log) - 12 == sum(1 for r in log if r.fault)
    assert all(r["status"] == "collected" and float(r["latency_ms"]) > 0 and int(r["bytes_sent"]) > 0
               for r in rows.values())
    normalized = parse_result_set(json.loads((tmp_path / "out" / f"{provider}.normalized.json").read_text()))
    assert set(normalized.images) == set(expected) and all(r.is_ok for r in normalized.images.values())


@pytest.mark.parametrize("fault", ["error_rate", "rate_limit_rate", "drop_rate", "truncate_rate"])
def test_each_fault_is_retried_until_success(fault, dataset, tmp_path):
    images, gt, expected = dataset
    faults = Faults(**{fault: 0.5}, retry_after=0.05, seed=11)
    with Emulator("naver", GtAnswers(gt), faults, secret=SECRET) as emulator:
        summary = run("naver", emulator, images, tmp_path / "out", concurrency=3, max_attempts=15)
        log = emulator.requests
    faulted = [r for r in log if r.fault]
    assert faulted, "the emulator injected no fault: the test would prove nothing"
    assert summary.collected == 12 and summary.retried == len(faulted)
    assert texts(tmp_path / "out", "naver") == expected
    rows = runs_csv(tmp_path / "out", "naver")
    for stem in expected:
        assert int(rows[stem]["attempts"]) == sum(1 for r in log if r.image == stem)


def test_retry_after_is_honoured(dataset, tmp_path):
    images, gt, _ = dataset
    with Emulator("kakao", GtAnswers(gt), Faults(rate_limit_rate=0.5, retry_after=0.3, seed=5), secret=SECRET) as emulator:
        summary = run("kakao", emulator, images, tmp_path / "out", concurrency=4, max_attempts=15, backoff_base=0.001)
        log = emulator.requests
    assert summary.collected == 12
    limited = [r for r in log if r.status == 429]
    assert limited
    for record in limited:
        later = [r.time for r in log if r.image == record.image and r.time > record.time]
        assert later and min(later) - record.time >= 0.3  # waited at least Retry-After, not the 1 ms backoff


def test_fail_first_gives_exact_attempt_counts(dataset, tmp_path):
    images, gt, expected = dataset
    with Emulator("jenti", GtAnswers(gt), Faults(fail_first=2), secret=None) as emulator:
        summary = run("jenti", emulator, images, tmp_path / "out", concurrency=4)
        assert all(emulator.calls_for(stem) == 3 for stem in expected)
    assert summary.retried == 24
    assert {r["attempts"] for r in runs_csv(tmp_path / "out", "jenti").values()} == {"3"}


def test_latency_is_per_attempt_and_concurrent_answers_land_on_their_images(tmp_path):
    images, gt, expected = make_set(tmp_path / "data", 16)
    with Emulator("naver", GtAnswers(gt), Faults(latency_ms=60, fail_first=1), secret=SECRET) as emulator:
        run("naver", emulator, images, tmp_path / "out", concurrency=8, backoff_base=0.5)
        log = emulator.requests
    assert texts(tmp_path / "out", "naver") == expected
    rows = runs_csv(tmp_path / "out", "naver")
    for stem, row in rows.items():
        first, second = sorted(r.time for r in log if r.image == stem)
        latency = float(row["latency_ms"])
        assert latency >= 60  # the answer's injected latency is inside the attempt...
        assert latency < (second - first) * 1000  # ...the 0.25-0.5 s backoff before it is not


def test_transient_exhaustion_then_retry_failed_and_refresh(dataset, tmp_path):
    images, gt, expected = dataset
    out = tmp_path / "out"
    with Emulator("naver", GtAnswers(gt), Faults(error_rate=1.0), secret=SECRET) as broken:
        summary = run("naver", broken, images, out, max_attempts=2)
        assert len(broken.requests) == 24
    assert (summary.failed, summary.collected) == (12, 0)
    rows = runs_csv(out, "naver")
    assert {(r["status"], r["error_class"], r["attempts"]) for r in rows.values()} == {("failed", "TransientError", "2")}
    assert json.loads((out / "naver.json").read_text()) == {}
    normalized = json.loads((out / "naver.normalized.json").read_text())
    assert all(entry["status"] == "error" and "CLOVA 050" in entry["error"] for entry in normalized["images"].values())

    with Emulator("naver", GtAnswers(gt), secret=SECRET) as healthy:
        again = run("naver", healthy, images, out)
        assert healthy.requests == [] and again.failed == 12  # failures are not re-sent by default
        retried = run("naver", healthy, images, out, retry_failed=True)
        assert len(healthy.requests) == 12 and retried.collected == 12
        reused = run("naver", healthy, images, out, retry_failed=True)
        assert len(healthy.requests) == 12 and reused.reused == 12  # nothing left to retry
        refreshed = run("naver", healthy, images, out, refresh=True)
        assert len(healthy.requests) == 24 and refreshed.collected == 12
        assert all(healthy.calls_for(stem) == 2 for stem in expected)
    assert texts(out, "naver") == expected


def test_unreadable_image_fails_without_a_request_and_retry_failed_resends_only_it(tmp_path):
    images, gt, expected = make_set(tmp_path / "data", 4)
    broken = images / "img_broken.jpg"
    broken.write_bytes(b"\xff\xd8 truncated jpeg")
    out = tmp_path / "out"
    with Emulator("kakao", GtAnswers(gt), secret=SECRET) as emulator:
        first = run("kakao", emulator, images, out)
        assert (first.collected, first.failed) == (4, 1) and emulator.calls_for("img_broken") == 0
        row = runs_csv(out, "kakao")["img_broken"]
        assert (row["status"], row["error_class"], row["attempts"]) == ("failed", "InputError", "0")
        assert "img_broken.jpg" in row["error"]
        render(broken, "고침", fmt="JPEG")
        second = run("kakao", emulator, images, out, retry_failed=True)
        assert (second.collected, second.reused, second.failed) == (1, 4, 0)
        assert emulator.calls_for("img_broken") == 1 and all(emulator.calls_for(s) == 1 for s in expected)


@pytest.mark.parametrize("provider, code", [("naver", "CLOVA 0023"), ("kakao", "Kakao -10")])
def test_quota_stop_keeps_everything_and_resume_sends_only_the_rest(provider, code, dataset, tmp_path):
    images, gt, expected = dataset
    out = tmp_path / "out"
    with Emulator(provider, GtAnswers(gt), Faults(quota=5), secret=SECRET) as limited:
        with pytest.raises(QuotaExhausted) as info:
            run(provider, limited, images, out, concurrency=3)
    message = str(info.value)
    assert f"{provider} quota exhausted after 5 images ({code}" in message
    assert message.endswith("7 remain: run again when it resets")
    stored = json.loads((out / f"{provider}.json").read_text())
    assert len(stored) == 5
    journaled = [e["image"] for e in journal_lines(out / f"{provider}.journal.jsonl")]
    assert sorted(journaled) == sorted(stored)  # exactly the successes, once each; quota answers are not journaled
    rows = runs_csv(out, provider)
    assert sum(r["status"] == "remaining" for r in rows.values()) == 7

    with Emulator(provider, GtAnswers(gt), secret=SECRET) as reset:
        summary = run(provider, reset, images, out, concurrency=3)
        assert all(reset.calls_for(stem) == 0 for stem in stored)
        assert all(reset.calls_for(stem) == 1 for stem in set(expected) - set(stored))
    assert (summary.collected, summary.reused, summary.remain) == (7, 5, 0)
    assert texts(out, provider) == expected


@pytest.mark.parametrize("provider, variable", [("naver", "NAVER_OCR_SECRET"), ("kakao", "KAKAO_REST_API_KEY")])
def test_auth_error_stops_at_once_and_names_the_variable(provider, variable, dataset, tmp_path):
    images, gt, _ = dataset
    with Emulator(provider, GtAnswers(gt), secret="the-right-one") as emulator:
        with pytest.raises(AuthError) as info:
            run(provider, emulator, images, tmp_path / "out", secret=SECRET, concurrency=2)
        assert len(emulator.requests) <= 2  # only what was already in flight
    message = str(info.value)
    assert variable in message and "12 remain" in message and SECRET not in message
    assert json.loads((tmp_path / "out" / f"{provider}.json").read_text()) == {}


def test_no_request_leaves_after_an_auth_stop_even_from_workers_still_preparing(dataset, tmp_path, monkeypatch):
    images, gt, _ = dataset
    with Emulator("naver", GtAnswers(gt), secret="the-right-one") as emulator:
        engine = make_provider(ProviderConfig("naver", emulator.url, Secret(SECRET)), Settings(pool_size=4))
        prepare = engine.prepare

        def slow_prepare(image):  # e.g. a big scan being resized while img_000 meets the auth error
            if image.key != "img_000":
                time.sleep(0.3)
            return prepare(image)

        monkeypatch.setattr(engine, "prepare", slow_prepare)
        with pytest.raises(AuthError, match="12 remain"):
            run("naver", emulator, images, tmp_path / "out", engine=engine, concurrency=4)
        assert [r.image for r in emulator.requests] == ["img_000"]


def test_retry_failed_run_stopped_by_quota_counts_unsent_images_as_remaining(tmp_path):
    images, gt, expected = make_set(tmp_path / "data", 6)
    out = tmp_path / "out"
    with Emulator("naver", GtAnswers(gt), Faults(error_rate=1.0), secret=SECRET) as broken:
        assert run("naver", broken, images, out, max_attempts=1).failed == 6
    with Emulator("naver", GtAnswers(gt), Faults(quota=2), secret=SECRET) as limited:
        with pytest.raises(QuotaExhausted) as info:
            run("naver", limited, images, out, concurrency=1, retry_failed=True)
    assert "quota exhausted after 2 images" in str(info.value)
    assert str(info.value).endswith("4 remain: run again when it resets")
    rows = runs_csv(out, "naver")
    collected = {stem for stem, row in rows.items() if row["status"] == "collected"}
    assert len(collected) == 2
    assert {stem for stem, row in rows.items() if row["status"] == "remaining"} == set(expected) - collected
    with Emulator("naver", GtAnswers(gt), secret=SECRET) as reset:
        summary = run("naver", reset, images, out, retry_failed=True)
        assert {stem: reset.calls_for(stem) for stem in expected} == {s: int(s not in collected) for s in expected}
    assert (summary.collected, summary.reused, summary.failed, summary.remain) == (4, 2, 0, 0)


def test_decompression_bomb_costs_that_image_only(tmp_path):
    images, gt, expected = make_set(tmp_path / "data", 3)
    write_bomb_png(images / "zz_huge.png")
    with Emulator("jenti", GtAnswers(gt)) as emulator:
        summary = run("jenti", emulator, images, tmp_path / "out")
        assert emulator.calls_for("zz_huge") == 0 and len(emulator.requests) == 3
    assert (summary.collected, summary.failed, summary.remain) == (3, 1, 0)
    row = runs_csv(tmp_path / "out", "jenti")["zz_huge"]
    assert (row["status"], row["error_class"], row["attempts"]) == ("failed", "InputError", "0")
    assert "zz_huge.png" in row["error"] and "DecompressionBombError" in row["error"]
    assert texts(tmp_path / "out", "jenti") == expected


def test_kakao_rotated_large_image_is_sent_upright_resized_and_boxes_map_back(tmp_path):
    images, gt = tmp_path / "images", tmp_path / "gt"
    gt.mkdir()
    # stored 3000 x 1000 with EXIF orientation 6: displayed (and annotated) turned 90 degrees clockwise
    x0, y0, x1, y1 = render(images / "rot.jpg", "대한민국", size=(3000, 1000), font_size=200, exif_orientation=6)
    upright = (1000 - y1, x0, 1000 - y0, x1)  # (x, y) -> (H - y, x) on the 1000 x 3000 upright image
    (gt / "rot.txt").write_text(gt_line(upright, "대한민국") + "\n", encoding="utf-8")
    with Emulator("kakao", GtAnswers(gt, images), secret=SECRET) as emulator:
        run("kakao", emulator, images, tmp_path / "out")
    row = runs_csv(tmp_path / "out", "kakao")["rot"]
    assert (row["sent_width"], row["sent_height"], row["original_width"], row["original_height"]) == \
        ("341", "1024", "1000", "3000")
    (region,) = json.loads((tmp_path / "out" / "kakao.json").read_text())["rot"]["result"]
    xs, ys = [p[0] for p in region["boxes"]], [p[1] for p in region["boxes"]]
    for got, want, scale in ((min(xs), upright[0], 1000 / 341), (min(ys), upright[1], 3000 / 1024),
                             (max(xs), upright[2], 1000 / 341), (max(ys), upright[3], 3000 / 1024)):
        assert abs(got - want) <= scale  # integer rounding in the sent image, scaled back
    journal_raw = journal_lines(tmp_path / "out" / "kakao.journal.jsonl")[0]["raw"]
    assert max(p[0] for p in journal_raw["result"][0]["boxes"]) <= 341  # stored as received: sent scale


def test_kakao_large_image_is_resized_and_boxes_come_back_in_original_coordinates(tmp_path):
    images, gt = tmp_path / "images", tmp_path / "gt"
    gt.mkdir()
    box = render(images / "big.png", "대한민국", size=(2400, 1200), font_size=200)
    (gt / "big.txt").write_text(gt_line(box, "대한민국") + "\n", encoding="utf-8")
    with Emulator("kakao", GtAnswers(gt, images), secret=SECRET) as emulator:
        run("kakao", emulator, images, tmp_path / "out")
    row = runs_csv(tmp_path / "out", "kakao")["big"]
    assert (row["sent_width"], row["sent_height"], row["original_width"], row["original_height"]) == \
        ("1024", "512", "2400", "1200")
    stored = json.loads((tmp_path / "out" / "kakao.json").read_text())["big"]
    (region,) = stored["result"]
    xs, ys = [p[0] for p in region["boxes"]], [p[1] for p in region["boxes"]]
    scale = 2400 / 1024
    for got, want in ((min(xs), box[0]), (min(ys), box[1]), (max(xs), box[2]), (max(ys), box[3])):
        assert abs(got - want) <= scale  # integer rounding in the sent image, scaled back
    journal_raw = journal_lines(tmp_path / "out" / "kakao.journal.jsonl")[0]["raw"]
    assert max(p[0] for p in journal_raw["result"][0]["boxes"]) <= 1024  # the journal keeps the answer as received


def test_recorded_real_responses_are_stored_verbatim_and_parse(tmp_path, provider_samples):
    recordings, images = tmp_path / "rec", tmp_path / "images"
    recordings.mkdir()
    picks = {"naver": "clova_general_v2_sooeun67_spri_report", "kakao": "kakao_v2_gimkuku_menu"}
    for provider, sample in picks.items():
        shutil.copy(provider_samples / f"{sample}.json", recordings / f"{sample}.json")
        render(images / provider / f"{sample}.png", "표본")
    for provider, sample in picks.items():
        with Emulator(provider, RecordedAnswers(recordings), secret=SECRET) as emulator:
            run(provider, emulator, images / provider, tmp_path / provider)
        recorded = json.loads((provider_samples / f"{sample}.json").read_text(encoding="utf-8"))
        stored = json.loads((tmp_path / provider / f"{provider}.json").read_text(encoding="utf-8"))
        assert stored == {sample: recorded}
        result = load_results(tmp_path / provider / f"{provider}.json").images[sample]
        expected = len(recorded["images"][0]["fields"]) if provider == "naver" else len(recorded["result"])
        assert result.is_ok and len(result.items) == expected


def _max_in_window(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + 1.0) for t in times)


def test_rps_is_a_hard_ceiling_in_every_one_second_window(tmp_path):
    images, gt, _ = make_set(tmp_path / "data", 20)
    with Emulator("naver", GtAnswers(gt), secret=SECRET) as emulator:
        summary = run("naver", emulator, images, tmp_path / "out", concurrency=8, rps=8)
        times = [r.time for r in emulator.requests]
    assert summary.collected == 20 and len(times) == 20
    assert _max_in_window(times) <= 8


def test_rps_ceiling_holds_at_the_server_when_building_a_request_is_slow(tmp_path):
    # A thread's first request is slow to build (think a large body or a fresh connection). If
    # the token were taken before that work, early grants would arrive late and bunch up with
    # the next ones; taking it right before sending keeps arrivals R per second at most.
    images, gt, _ = make_set(tmp_path / "data", 8)
    with Emulator("naver", GtAnswers(gt), secret=SECRET) as emulator:
        seen: set[int] = set()

        def slow_first_build(image):
            if threading.get_ident() not in seen:
                seen.add(threading.get_ident())
                time.sleep(0.2)
            return naver.build_request(image, emulator.url, SECRET)

        engine = HttpProvider("naver", slow_first_build, naver.classify, naver.POLICY, parse=naver.parse)
        summary = run("naver", emulator, images, tmp_path / "out", engine=engine, concurrency=4, rps=4)
        times = [r.time for r in emulator.requests]
    assert summary.collected == 8 and len(times) == 8 and len(seen) == 4
    assert _max_in_window(times) <= 4


def test_limit_sends_at_most_n_images_per_run(dataset, tmp_path):
    images, gt, expected = dataset
    with Emulator("jenti", GtAnswers(gt)) as emulator:
        first = run("jenti", emulator, images, tmp_path / "out", limit=5)
        second = run("jenti", emulator, images, tmp_path / "out", limit=5)
        assert len(emulator.requests) == 10
    assert (first.collected, first.remain) == (5, 7)
    assert (second.collected, second.reused, second.remain) == (5, 5, 2)
    assert set(json.loads((tmp_path / "out" / "jenti.json").read_text())) == set(sorted(expected)[:10])


def test_naver_lang_is_sent_and_a_permanent_error_is_not_retried(dataset, tmp_path):
    images, gt, expected = dataset
    with Emulator("naver", GtAnswers(gt), secret=SECRET) as emulator:
        config = ProviderConfig("naver", emulator.url, Secret(SECRET))
        for lang, out in (("ko", tmp_path / "ko"), ("xx", tmp_path / "xx")):
            engine = make_provider(config, Settings(lang=lang))
            summary = collect(engine, discover(images), out, CollectOptions(progress=False), report=lambda s: None)
            engine.close()
            if lang == "ko":
                assert summary.collected == 12
        assert len(emulator.requests) == 24  # one each: the refused lang is permanent, never retried
    assert summary.failed == 12
    rows = runs_csv(tmp_path / "xx", "naver")
    assert {(r["error_class"], r["error_code"], r["attempts"]) for r in rows.values()} == {("PermanentError", "CLOVA 0011", "1")}


def test_a_changed_image_is_sent_again_and_an_identical_rewrite_is_not(tmp_path, caplog):
    images, gt, expected = make_set(tmp_path / "data", 3)
    out = tmp_path / "out"
    stems = sorted(expected)
    with Emulator("jenti", GtAnswers(gt)) as first:
        assert run("jenti", first, images, out).collected == 3
    same, changed = images / f"{stems[0]}.png", images / f"{stems[1]}.png"
    same.write_bytes(same.read_bytes())  # same bytes, new modification time (bench synth --overwrite)
    render(changed, "바뀐글자")  # new content under the same name
    with Emulator("jenti", GtAnswers(gt)) as second, caplog.at_level("WARNING", logger="bench"):
        summary = run("jenti", second, images, out)
        assert {stem: second.calls_for(stem) for stem in stems} == {stems[0]: 0, stems[1]: 1, stems[2]: 0}
    assert (summary.collected, summary.reused) == (1, 2)
    assert any(f"{stems[1]}.png changed since it was collected" in r.getMessage() for r in caplog.records)
