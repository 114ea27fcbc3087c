"""The collector's pure parts: config, image preparation, journal, pacing, request building,
answer classification and backoff. No network here; the HTTP paths are in test_collect_http.py."""
from __future__ import annotations

import base64
import io
import json
import os
import random
import stat
import threading
import uuid
from pathlib import Path

import pytest
from PIL import Image

from adapters.providers import jenti, kakao, naver
from adapters.collection import collector
from adapters.collection.collector import backoff_delay
from adapters.core.credentials import Secret, read_env_file
from adapters.providers.registry import provider_config
from adapters.core.errors import ConfigError, InputError
from adapters.core.images import ImageFile, ImagePolicy, discover, prepare
from adapters.collection.journal import Journal
from adapters.providers.base import HttpAnswer, Outcome, parse_retry_after
from adapters.collection.ratelimit import RateLimiter
from collect_support import render, write_bomb_png

SECRET = "s3cr3t-VALUE-never-printed"


# --- config ------------------------------------------------------------------------------------

def test_missing_or_empty_credentials_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="NAVER_OCR_SECRET"):
        provider_config("naver", {"NAVER_OCR_URL": "http://127.0.0.1:1/x"}, tmp_path)
    with pytest.raises(ConfigError, match="NAVER_OCR_URL"):
        provider_config("naver", {"NAVER_OCR_URL": "  ", "NAVER_OCR_SECRET": SECRET}, tmp_path)
    with pytest.raises(ConfigError, match="KAKAO_REST_API_KEY"):
        provider_config("kakao", {"KAKAO_REST_API_KEY": ""}, tmp_path)
    with pytest.raises(ConfigError, match="JENTI_OCR_URL"):
        provider_config("jenti", {}, tmp_path)
    assert provider_config("tesseract", {}, tmp_path).secrets() == ()


def test_env_file_supplies_credentials_and_environment_wins(tmp_path):
    (tmp_path / ".env").write_text(
        "# comment\nexport NAVER_OCR_URL='http://127.0.0.1:9/custom'\nNAVER_OCR_SECRET=\"from-file\"\n"
        "KAKAO_REST_API_KEY=abcdefgh # trailing comment\n", encoding="utf-8")
    config = provider_config("naver", {}, tmp_path)
    assert (config.url, config.secret.reveal()) == ("http://127.0.0.1:9/custom", "from-file")
    assert provider_config("naver", {"NAVER_OCR_SECRET": "from-env"}, tmp_path).secret.reveal() == "from-env"
    kakao_config = provider_config("kakao", {}, tmp_path)
    assert kakao_config.secret.reveal() == "abcdefgh"
    assert kakao_config.url == "https://dapi.kakao.com/v2/vision/text/ocr"


def test_env_file_quoted_value_with_a_trailing_comment_is_unquoted(tmp_path):
    (tmp_path / ".env").write_text(
        'KAKAO_REST_API_KEY="abcdef0123456789" # from the console\n'
        "NAVER_OCR_SECRET='with space'\t#tab before the comment\n"
        'NAVER_OCR_URL="http://127.0.0.1:9/a#b"\n', encoding="utf-8")
    values = read_env_file(tmp_path / ".env")
    assert values["KAKAO_REST_API_KEY"] == "abcdef0123456789"
    assert values["NAVER_OCR_SECRET"] == "with space"
    assert values["NAVER_OCR_URL"] == "http://127.0.0.1:9/a#b"  # a # inside the quotes is part of the value


@pytest.mark.parametrize("provider, variable", [("naver", "NAVER_OCR_SECRET"), ("kakao", "KAKAO_REST_API_KEY")])
@pytest.mark.parametrize("bad", ["clé-secrète-비밀", "abc\x01def-ghij", "키"])
def test_secret_outside_printable_ascii_is_refused_without_echoing_it(provider, variable, bad, tmp_path):
    # such a key fails every request when the header is encoded; say so before any work
    environ = {"NAVER_OCR_URL": "http://127.0.0.1:9/x", variable: bad}
    with pytest.raises(ConfigError, match=variable) as info:
        provider_config(provider, environ, tmp_path)
    assert bad not in str(info.value) and "é" not in str(info.value) and "비" not in str(info.value)
    assert provider_config(provider, {**environ, variable: "plain-ASCII key ~!"}, tmp_path).secret.reveal() == "plain-ASCII key ~!"


def test_bad_env_line_names_the_line_not_its_content(tmp_path):
    (tmp_path / ".env").write_text(f"NAVER_OCR_URL=http://x/y\n{SECRET} oops\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_env_file(tmp_path / ".env")
    assert "line 2" in str(info.value) and SECRET not in str(info.value)


def test_non_http_url_is_rejected_without_echoing_it(tmp_path):
    with pytest.raises(ConfigError, match="JENTI_OCR_URL") as info:
        provider_config("jenti", {"JENTI_OCR_URL": f"ftp://{SECRET}"}, tmp_path)
    assert SECRET not in str(info.value)


def test_config_objects_never_print_the_secret(tmp_path):
    config = provider_config("kakao", {"KAKAO_REST_API_KEY": SECRET}, tmp_path)
    for text in (repr(config), str(config), repr(config.secret), str(config.secret), f"{config}"):
        assert SECRET not in text
    assert config.secrets() == (SECRET,)
    assert Secret(SECRET) == config.secret


# --- images ------------------------------------------------------------------------------------

def test_discover_is_recursive_case_insensitive_and_sorted(tmp_path):
    for name in ("b.PNG", "sub/a.jpeg", "sub/deeper/c.webp", "d.TIF", "e.bmp", "notes.txt", "f.gif"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert [image.key for image in discover(tmp_path)] == ["a", "b", "c", "d", "e"]


def test_duplicate_stems_name_both_files(tmp_path):
    for name in ("x/page1.jpg", "y/page1.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(InputError) as info:
        discover(tmp_path)
    assert "x/page1.jpg" in str(info.value) and "y/page1.png" in str(info.value)


def test_empty_or_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no images"):
        discover(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        discover(tmp_path / "nope")


def test_untouched_image_is_sent_byte_for_byte(tmp_path):
    path = tmp_path / "a.png"
    render(path, "서울")
    prepared = prepare(ImageFile("a", path), naver.POLICY)
    assert prepared.data == path.read_bytes()
    assert (prepared.format, prepared.width, prepared.height, prepared.scale) == ("png", 320, 120, (1.0, 1.0))


def test_exif_orientation_is_applied_before_sending(tmp_path):
    path = tmp_path / "rot.jpg"
    render(path, "서울", size=(300, 100), exif_orientation=6)  # stored landscape, displayed portrait
    prepared = prepare(ImageFile("rot", path), naver.POLICY)
    sent = Image.open(io.BytesIO(prepared.data))
    assert sent.size == (100, 300) == (prepared.width, prepared.height)
    assert (prepared.original_width, prepared.original_height) == (100, 300)
    assert sent.getexif().get(0x0112, 1) == 1


def test_unaccepted_format_is_reencoded(tmp_path):
    path = tmp_path / "a.bmp"
    render(path, "서울")
    prepared = prepare(ImageFile("a", path), naver.POLICY)
    assert prepared.format == "png" and prepared.file_name == "a.png"
    assert Image.open(io.BytesIO(prepared.data)).format == "PNG"


def test_kakao_policy_resizes_long_side_and_keeps_the_scale(tmp_path):
    path = tmp_path / "big.png"
    render(path, "서울", size=(2048, 1000), font_size=200)
    prepared = prepare(ImageFile("big", path), kakao.POLICY)
    assert (prepared.width, prepared.height) == (1024, 500)
    assert Image.open(io.BytesIO(prepared.data)).size == (1024, 500)
    assert prepared.scale == (2.0, 2.0)


def test_kakao_policy_brings_heavy_files_under_one_megabyte(tmp_path):
    path = tmp_path / "noise.png"
    Image.frombytes("RGB", (1000, 800), random.Random(1).randbytes(1000 * 800 * 3)).save(path)
    assert path.stat().st_size > kakao.MAX_BYTES
    prepared = prepare(ImageFile("noise", path), kakao.POLICY)
    assert len(prepared.data) <= kakao.MAX_BYTES
    assert max(prepared.width, prepared.height) <= kakao.MAX_SIDE


def test_unreadable_image_names_the_file(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not an image")
    with pytest.raises(InputError, match="broken.jpg"):
        prepare(ImageFile("broken", path), ImagePolicy())


def test_decompression_bomb_is_an_input_error_naming_the_file(tmp_path):
    path = tmp_path / "huge_scan.png"
    write_bomb_png(path)
    with pytest.raises(InputError, match="huge_scan.png") as info:
        prepare(ImageFile("huge_scan", path), ImagePolicy())
    assert "DecompressionBombError" in str(info.value)


# --- journal -----------------------------------------------------------------------------------

def _entry(key: str, status: str = "ok", raw=None) -> dict:
    return {"v": 1, "image": key, "status": status, "raw": raw, "record": {}}


def test_journal_round_trip_latest_success_wins(tmp_path):
    with Journal(tmp_path / "j.jsonl") as journal:
        journal.load()
        journal.append(_entry("a", raw={"n": 1}))
        journal.append(_entry("b", "failed"))
        journal.append(_entry("a", raw={"n": 2}))
        journal.append(_entry("a", "failed"))  # a later failure never hides a paid-for success
        journal.append(_entry("c", "failed"))
        journal.append(_entry("c", raw={"n": 3}))
    state = Journal(tmp_path / "j.jsonl").load()
    assert state.successes["a"]["raw"] == {"n": 2}
    assert set(state.successes) == {"a", "c"} and set(state.failures) == {"a", "b"}


def test_torn_last_line_is_dropped_and_appends_stay_valid(tmp_path, caplog):
    path = tmp_path / "j.jsonl"
    good = json.dumps(_entry("a", raw={"t": "서울"}), ensure_ascii=False) + "\n"
    path.write_bytes(good.encode() + b'{"v": 1, "image": "b", "sta')
    journal = Journal(path)
    with caplog.at_level("WARNING", logger="bench"):
        state = journal.load()
    assert set(state.successes) == {"a"} and state.torn
    assert "cut short" in caplog.text
    journal.append(_entry("b"))
    journal.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["image"] for line in lines] == ["a", "b"]


def test_damaged_middle_line_is_skipped_with_a_warning_naming_its_number(tmp_path, caplog):
    # was: an InputError stopping every later run (the advice, moving the journal away, re-paid every image)
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps(_entry("a")) + "\ngarbage\n" + json.dumps(_entry("b")) + "\n")
    with caplog.at_level("WARNING", logger="bench"):
        state = Journal(path).load()
    assert set(state.successes) == {"a", "b"} and state.skipped == [2]
    assert "line 2: not a journal record" in caplog.text


def test_journal_redacts_secrets(tmp_path):
    journal = Journal(tmp_path / "j.jsonl", secrets=(SECRET,))
    journal.load()
    journal.append(_entry("a", raw={"echo": f"KakaoAK {SECRET}"}))
    journal.close()
    assert SECRET not in (tmp_path / "j.jsonl").read_text()


def test_journal_lock_is_exclusive_until_closed(tmp_path):
    first = Journal(tmp_path / "out" / "j.jsonl")
    first.lock()
    with pytest.raises(InputError, match="another bench collect is writing to .*out"):
        Journal(tmp_path / "out" / "j.jsonl").lock()
    first.close()
    second = Journal(tmp_path / "out" / "j.jsonl")
    second.lock()  # released by close (and by the kernel when a process dies)
    second.close()


@pytest.fixture
def fsync_log(monkeypatch):
    """Observe (not replace) os.fsync and os.replace: ("dir", inode) / ("replace", path) events."""
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            events.append(("dir", (info.st_dev, info.st_ino)))
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        events.append(("replace", Path(dst)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def _inode(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def test_new_journal_and_renamed_outputs_get_their_directory_fsynced(tmp_path, fsync_log):
    # fsync of a file does not save the directory entry naming it: a power cut could lose it
    journal = Journal(tmp_path / "j.jsonl")
    journal.lock()
    journal.close()
    assert ("dir", _inode(tmp_path)) in fsync_log
    fsync_log.clear()
    collector._atomic_write(tmp_path / "out.json", "{}")
    assert fsync_log[-2:] == [("replace", tmp_path / "out.json"), ("dir", _inode(tmp_path))]


# --- pacing ------------------------------------------------------------------------------------

class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


@pytest.mark.parametrize("rps, allowed", [(10, 10), (2.5, 2), (1, 1), (0.5, 1)])
def test_rate_limiter_never_exceeds_rps_in_any_one_second_window(rps, allowed):
    fake = FakeTime()
    limiter = RateLimiter(rps, clock=fake.clock, sleep=fake.sleep)
    grants = []
    for _ in range(40):
        limiter.acquire()
        grants.append(fake.now)
    assert _max_in_window(grants) <= allowed
    # it is a ceiling, not a crawl: over the whole run the rate stays close to the target
    span = grants[-1] - grants[0]
    assert len(grants) - 1 >= 0.9 * min(rps, allowed) * span / limiter._window


def test_rate_limiter_pause_holds_every_caller():
    fake = FakeTime()
    limiter = RateLimiter(None, clock=fake.clock, sleep=fake.sleep)
    limiter.acquire()
    limiter.pause_until(fake.now + 3.0)
    start = fake.now
    limiter.acquire()
    assert fake.now - start == pytest.approx(3.0)


def test_rate_limiter_acquire_gives_up_when_stopped():
    import threading
    import time
    stop = threading.Event()
    limiter = RateLimiter(None)
    limiter.pause_until(time.monotonic() + 60)
    stop.set()
    assert limiter.acquire(stop) is False


@pytest.mark.parametrize("rps", [None, 5.0])
def test_rate_limiter_grants_nothing_once_stopped(rps):
    # a token would be free right now: only the stop flag can refuse it
    stop = threading.Event()
    limiter = RateLimiter(rps)
    stop.set()
    assert limiter.acquire(stop) is False
    assert limiter.acquire() is True  # without a stop event, pacing alone decides


# --- backoff and Retry-After -------------------------------------------------------------------

def test_backoff_is_capped_exponential_with_jitter():
    rng = random.Random(0)
    for attempt in range(1, 12):
        expected = min(8.0, 0.5 * 2 ** (attempt - 1))
        delays = {backoff_delay(attempt, 0.5, 8.0, rng) for _ in range(50)}
        assert all(expected / 2 <= d <= expected for d in delays)
        assert len(delays) > 1  # jittered, so parallel workers do not retry in lockstep


def test_parse_retry_after_seconds_and_http_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("-4") == 0.0


# --- request building --------------------------------------------------------------------------

@pytest.fixture
def prepared(tmp_path):
    path = tmp_path / "img_007.png"
    render(path, "서울")
    return prepare(ImageFile("img_007", path))


def test_naver_request_has_the_documented_shape(prepared):
    first = naver.build_request(prepared, "http://127.0.0.1:1/custom/v1/1/x/general", SECRET)
    second = naver.build_request(prepared, "http://127.0.0.1:1/custom/v1/1/x/general", SECRET, lang="ko")
    body, body2 = json.loads(first.body), json.loads(second.body)
    assert body["version"] == "V2" and "lang" not in body and body2["lang"] == "ko"
    assert uuid.UUID(body["requestId"]).version == 4 and body["requestId"] != body2["requestId"]
    assert body["timestamp"] > 1_600_000_000_000  # milliseconds
    (image,) = body["images"]
    assert (image["format"], image["name"]) == ("png", "img_007")
    assert base64.b64decode(image["data"]) == prepared.data
    assert first.headers["X-OCR-SECRET"] == SECRET
    assert SECRET not in repr(first)


def test_kakao_and_jenti_requests_are_multipart_with_their_field(prepared):
    k = kakao.build_request(prepared, "http://127.0.0.1:1/v2/vision/text/ocr", SECRET)
    assert k.headers["Authorization"] == f"KakaoAK {SECRET}"
    assert k.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="image"; filename="img_007.png"' in k.body and prepared.data in k.body
    j = jenti.build_request(prepared, "http://127.0.0.1:1/evaluation")
    assert b'name="file"; filename="img_007.png"' in j.body and "Authorization" not in j.headers
    assert SECRET not in repr(k)


# --- classification ----------------------------------------------------------------------------

def answer(status: int, body, headers=None) -> HttpAnswer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpAnswer(status, headers or {}, data)


CLOVA_OK = {"version": "V2", "requestId": "r", "timestamp": 1,
            "images": [{"name": "a", "inferResult": "SUCCESS", "message": "SUCCESS", "fields": []}]}


@pytest.mark.parametrize("status, body, headers, outcome, code", [
    (200, CLOVA_OK, {}, Outcome.SUCCESS, ""),
    (401, {"code": "0002", "message": "Secret key validate failed."}, {}, Outcome.AUTH, "CLOVA 0002"),
    (400, {"code": "0001", "message": "URL is invalid."}, {}, Outcome.AUTH, "CLOVA 0001"),
    (400, {"code": "0023", "message": "API request count reach the upper limit."}, {}, Outcome.QUOTA, "CLOVA 0023"),
    (400, {"code": "0025", "message": "rate limit"}, {}, Outcome.RATE_LIMITED, "CLOVA 0025"),
    (429, {"code": "0025", "message": "rate limit"}, {"Retry-After": "2"}, Outcome.RATE_LIMITED, "CLOVA 0025"),
    (400, {"code": "0011", "message": "Request body invalid."}, {}, Outcome.PERMANENT, "CLOVA 0011"),
    (500, {"code": "0500", "message": "Unknown service error."}, {}, Outcome.TRANSIENT, "CLOVA 0500"),
    (503, b"<html>busy</html>", {}, Outcome.TRANSIENT, "HTTP 503"),
    (200, json.dumps(CLOVA_OK).encode()[:40], {}, Outcome.TRANSIENT, "unparseable_body"),
    (200, {"version": "V2", "images": [{"inferResult": "FAILURE", "message": "bad image"}]}, {},
     Outcome.PERMANENT, "inferResult FAILURE"),
    (200, {"something": "else"}, {}, Outcome.PERMANENT, "unexpected_response"),
])
def test_naver_classification(status, body, headers, outcome, code):
    verdict = naver.classify(answer(status, body, headers))
    assert (verdict.outcome, verdict.code) == (outcome, code)
    if headers.get("Retry-After"):
        assert verdict.retry_after == 2.0


@pytest.mark.parametrize("status, body, outcome, code", [
    (200, {"result": []}, Outcome.SUCCESS, ""),
    (401, {"code": -401, "msg": "wrong appKey"}, Outcome.AUTH, "Kakao -401"),
    (400, {"code": -10, "msg": "API limit has been exceeded."}, Outcome.QUOTA, "Kakao -10"),
    (400, {"code": -911, "msg": "unsupported format"}, Outcome.PERMANENT, "Kakao -911"),
    (400, {"code": -603, "msg": "timeout"}, Outcome.TRANSIENT, "Kakao -603"),
    (503, {"code": -9798, "msg": "maintenance"}, Outcome.TRANSIENT, "Kakao -9798"),
    (429, {"code": -1234, "msg": "slow down"}, Outcome.RATE_LIMITED, "Kakao -1234"),
    (401, b"", Outcome.AUTH, "HTTP 401"),
    (200, b'{"result": [{"boxes"', Outcome.TRANSIENT, "unparseable_body"),
])
def test_kakao_classification(status, body, outcome, code):
    verdict = kakao.classify(answer(status, body))
    assert (verdict.outcome, verdict.code) == (outcome, code)


@pytest.mark.parametrize("status, body, outcome", [
    (200, {}, Outcome.SUCCESS),
    (200, {"서울": [0, 0, 10, 0, 10, 5, 0, 5]}, Outcome.SUCCESS),
    (200, {"error": "cannot decode image"}, Outcome.PERMANENT),
    (500, {"error": "boom"}, Outcome.TRANSIENT),
    (502, b"Bad Gateway", Outcome.TRANSIENT),
    (429, {"error": "slow"}, Outcome.RATE_LIMITED),
])
def test_jenti_classification(status, body, outcome):
    assert jenti.classify(answer(status, body)).outcome is outcome


def test_kakao_boxes_are_scaled_back_to_original_coordinates():
    raw = {"result": [{"boxes": [[10, 20], [30, 20], [30, 40], [10, 40]], "recognition_words": ["서 울"]}]}
    scaled = kakao.scale_boxes(raw, (2.0, 1.5))
    assert scaled["result"][0]["boxes"] == [[20, 30], [60, 30], [60, 60], [20, 60]]
    assert raw["result"][0]["boxes"][0] == [10, 20]  # the stored original is untouched
    assert kakao.parse(scaled).items[0].text == "서 울"
