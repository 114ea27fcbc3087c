"""The provider emulators, tested as real HTTP servers on 127.0.0.1 with plain ``requests``."""
from __future__ import annotations

import base64
import io
import json
import os
import queue
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from PIL import Image

from adapters.providers import jenti, kakao, naver, registry

from adapters.emulators.emulator import Emulator, EngineAnswers, Faults, GtAnswers, RecordedAnswers
from adapters.core.errors import InputError
from adapters.core.schema import Item

REPO_ROOT = Path(__file__).resolve().parents[1]
NAVER_SECRET = "naver-test-secret-4f1c"
KAKAO_KEY = "kakao-test-key-9b2e"
TIMEOUT = 10


# ---------------------------------------------------------------- clients (what a real client sends)

def naver_body(name: str, data: bytes, fmt: str = "png", **overrides: object) -> dict:
    image = {"format": fmt, "name": name, "data": base64.b64encode(data).decode("ascii")}
    body = {"version": "V2", "requestId": str(uuid.uuid4()), "timestamp": int(time.time() * 1000),
            "images": [image]}
    body.update(overrides)
    return body


def post_naver(url: str, name: str, data: bytes, secret: str | None = NAVER_SECRET, **overrides: object):
    headers = {} if secret is None else {"X-OCR-SECRET": secret}
    return requests.post(url, json=naver_body(name, data, **overrides), headers=headers, timeout=TIMEOUT)


def post_kakao(url: str, file_name: str, data: bytes, key: str | None = KAKAO_KEY):
    headers = {} if key is None else {"Authorization": f"KakaoAK {key}"}
    return requests.post(url, files={"image": (file_name, data, "application/octet-stream")},
                         headers=headers, timeout=TIMEOUT)


def post_jenti(url: str, file_name: str, data: bytes):
    return requests.post(url, files={"file": (file_name, data, "application/octet-stream")}, timeout=TIMEOUT)


def png_bytes(size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "PNG")
    return buffer.getvalue()


def flat(polygon) -> list[float]:
    return [v for point in polygon for v in point]


def texts_and_polygons(items) -> list[tuple[str, tuple]]:
    return [(item.text, tuple((round(x, 3), round(y, 3)) for x, y in item.polygon)) for item in items]


@pytest.fixture(scope="module")
def gt_answers(korean_images) -> GtAnswers:
    return GtAnswers(korean_images.gt_dir)


# ---------------------------------------------------------------- rendering round trip (pure)

ROUND_TRIP_ITEMS = (
    Item(polygon=((10, 20), (110, 20), (110, 60), (10, 60)), text="출입구", confidence=0.9876),
    Item(polygon=((130, 22), (200, 22), (200, 61), (130, 61)), text="EXIT", confidence=0.5),
    Item(polygon=((10, 80), (90, 78), (92, 120), (12, 122)), text="1,000원", confidence=1.0),
)


@pytest.mark.parametrize("version", ["V1", "V2"])
def test_naver_rendering_parses_back_to_the_same_items(version: str) -> None:
    body = naver.render_success(ROUND_TRIP_ITEMS, name="img", width=640, height=480, version=version)
    result = naver.parse(json.loads(json.dumps(body)))
    assert result.is_ok
    assert result.items == ROUND_TRIP_ITEMS
    assert (result.width, result.height) == ((640, 480) if version == "V2" else (None, None))


def test_kakao_and_jenti_rendering_parse_back_to_the_same_geometry_and_text() -> None:
    expected = texts_and_polygons(ROUND_TRIP_ITEMS)
    assert texts_and_polygons(kakao.parse(json.loads(json.dumps(kakao.render_success(ROUND_TRIP_ITEMS)))).items) == expected
    assert texts_and_polygons(jenti.parse(json.loads(json.dumps(jenti.render_success(ROUND_TRIP_ITEMS)))).items) == expected


def test_error_bodies_are_read_as_errors_by_the_parsers() -> None:
    for provider, module in (("naver", naver), ("kakao", kakao), ("jenti", jenti)):
        status, body = module.error("quota")
        assert status in (400, 429)
        assert not module.parse(body).is_ok, provider


# ---------------------------------------------------------------- answers on the wire

@pytest.mark.slow
def test_naver_answers_ground_truth_in_clova_v2_shape(korean_images, gt_answers) -> None:
    path = korean_images.files["sign_exit"]
    with Emulator("naver", gt_answers, secret=NAVER_SECRET) as emu:
        assert emu.url.startswith("http://127.0.0.1:") and emu.url.endswith("/custom/v1/1/emulator/general")
        response = post_naver(emu.url, "sign_exit", path.read_bytes())
    assert response.status_code == 200
    body = response.json()
    image = body["images"][0]
    assert image["name"] == "sign_exit" and image["inferResult"] == "SUCCESS"
    assert image["convertedImageInfo"]["width"] == Image.open(path).width
    assert all({"inferText", "inferConfidence", "boundingPoly"} <= set(f) for f in image["fields"])
    result = naver.parse(body)
    expected = [(w.text, tuple((float(x), float(y)) for x, y in w.quad)) for w in korean_images.care_words("sign_exit")]
    assert texts_and_polygons(result.items) == expected
    assert "###" not in [item.text for item in result.items]
    assert emu.calls_for("sign_exit") == 1 and emu.requests[0].status == 200


@pytest.mark.slow
def test_kakao_and_jenti_answer_ground_truth_keyed_by_file_stem(korean_images, gt_answers) -> None:
    path = korean_images.files["sign_shop"]
    expected = {w.text for w in korean_images.care_words("sign_shop")}
    with Emulator("kakao", gt_answers, secret=KAKAO_KEY) as emu:
        response = post_kakao(emu.url, path.name, path.read_bytes())
        assert response.status_code == 200
        assert {item.text for item in kakao.parse(response.json()).items} == expected
        assert emu.calls_for(path.name) == emu.calls_for("sign_shop") == 1
    with Emulator("jenti", gt_answers) as emu:
        response = post_jenti(emu.url, path.name, path.read_bytes())
        assert response.status_code == 200
        assert set(response.json()) == expected


@pytest.mark.slow
def test_unknown_image_gets_an_empty_answer_in_each_shape(gt_answers) -> None:
    data = png_bytes()
    with Emulator("naver", gt_answers) as emu:
        assert naver.parse(post_naver(emu.url, "nobody", data).json()).items == ()
    with Emulator("kakao", gt_answers) as emu:
        assert post_kakao(emu.url, "nobody.png", data).json() == {"result": []}
    with Emulator("jenti", gt_answers) as emu:
        assert post_jenti(emu.url, "nobody.png", data).json() == {}


@pytest.mark.slow
def test_gt_boxes_are_scaled_to_the_size_of_the_received_image(korean_images) -> None:
    path = korean_images.files["sign_hall"]
    original = Image.open(path)
    half = original.resize((original.width // 2, original.height // 2))
    buffer = io.BytesIO()
    half.save(buffer, "PNG")
    (word,) = korean_images.care_words("sign_hall")
    sx, sy = half.width / original.width, half.height / original.height
    scaled = tuple((x * sx, y * sy) for x, y in word.quad)

    with Emulator("naver", GtAnswers(korean_images.gt_dir, korean_images.images_dir)) as emu:
        body = post_naver(emu.url, "sign_hall", buffer.getvalue()).json()
    (item,) = naver.parse(body).items
    assert flat(item.polygon) == pytest.approx(flat(scaled))
    assert body["images"][0]["convertedImageInfo"]["width"] == half.width

    with Emulator("naver", GtAnswers(korean_images.gt_dir)) as emu:  # no images dir: gt coordinates as they are
        (item,) = naver.parse(post_naver(emu.url, "sign_hall", buffer.getvalue()).json()).items
    assert flat(item.polygon) == pytest.approx(flat(word.quad))


@pytest.mark.slow
def test_recorded_bodies_are_served_verbatim(tmp_path: Path, provider_samples: Path) -> None:
    kakao_sample = provider_samples / "kakao_v2_gimkuku_menu.json"
    clova_sample = provider_samples / "clova_general_v2_sooeun67_spri_report.json"
    shutil.copy(kakao_sample, tmp_path / "menu.json")
    shutil.copy(clova_sample, tmp_path / "report.json")
    answers = RecordedAnswers(tmp_path)
    with Emulator("kakao", answers, secret=KAKAO_KEY) as emu:
        response = post_kakao(emu.url, "menu.jpg", png_bytes())
        assert response.status_code == 200
        assert response.content == kakao_sample.read_bytes()
        assert len(kakao.parse(response.json()).items) == 7
        assert post_kakao(emu.url, "other.jpg", png_bytes()).json() == {"result": []}
    with Emulator("naver", answers, secret=NAVER_SECRET) as emu:
        response = post_naver(emu.url, "report", png_bytes())
        assert response.content == clova_sample.read_bytes()
        assert len(naver.parse(response.json()).items) == 248
        # a name that tries to leave the folder is just an unknown image
        assert naver.parse(post_naver(emu.url, "../report", png_bytes()).json()).items == ()


@pytest.mark.slow
def test_engine_answers_read_korean_from_the_received_image(korean_images) -> None:
    path = korean_images.files["sign_exit"]
    with Emulator("kakao", EngineAnswers(registry.get("tesseract")), secret=KAKAO_KEY) as emu:
        response = post_kakao(emu.url, path.name, path.read_bytes())
    assert response.status_code == 200
    texts = {item.text for item in kakao.parse(response.json()).items}
    assert texts & {"출입구", "비상구"}, texts


# ---------------------------------------------------------------- auth

@pytest.mark.slow
def test_naver_checks_the_secret_header(gt_answers) -> None:
    data = png_bytes()
    with Emulator("naver", gt_answers, secret=NAVER_SECRET) as emu:
        for secret in (None, "wrong", ""):
            response = post_naver(emu.url, "x", data, secret=secret)
            assert response.status_code == 401
            assert response.json()["code"] == "0002"
            assert NAVER_SECRET not in response.text
        assert post_naver(emu.url, "x", data).status_code == 200
    with Emulator("naver", gt_answers, secret=None) as emu:  # auth disabled
        assert post_naver(emu.url, "x", data, secret=None).status_code == 200


@pytest.mark.slow
def test_kakao_checks_the_kakaoak_authorization(gt_answers) -> None:
    data = png_bytes()
    with Emulator("kakao", gt_answers, secret=KAKAO_KEY) as emu:
        bad_headers = [{}, {"Authorization": "KakaoAK wrong"}, {"Authorization": f"Bearer {KAKAO_KEY}"}]
        for headers in bad_headers:
            response = requests.post(emu.url, files={"image": ("a.png", data)}, headers=headers, timeout=TIMEOUT)
            assert response.status_code == 401
            assert response.json()["code"] == -401
            assert KAKAO_KEY not in response.text
        assert post_kakao(emu.url, "a.png", data).status_code == 200


# ---------------------------------------------------------------- request validation

@pytest.mark.slow
@pytest.mark.parametrize("change, code", [
    ({"version": "V3"}, "0021"),
    ({"version": None}, "0011"),
    ({"requestId": ""}, "0011"),
    ({"timestamp": "now"}, "0011"),
    ({"timestamp": 1.5}, "0011"),
    ({"lang": "en"}, "0011"),
    ({"enableTableDetection": True}, "0028"),
])
def test_naver_rejects_invalid_bodies_with_clova_codes(gt_answers, change: dict, code: str) -> None:
    with Emulator("naver", gt_answers) as emu:
        response = post_naver(emu.url, "x", png_bytes(), **change)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not naver.parse(response.json()).is_ok


@pytest.mark.slow
def test_naver_rejects_malformed_images_lists_and_payloads(gt_answers) -> None:
    data = png_bytes()
    good = naver_body("x", data)
    bodies = {
        "two images": {**good, "images": good["images"] * 2},
        "no name": {**good, "images": [{k: v for k, v in good["images"][0].items() if k != "name"}]},
        "bad format": {**good, "images": [{**good["images"][0], "format": "gif"}]},
        "bad base64": {**good, "images": [{**good["images"][0], "data": "###not base64###"}]},
        "url only": {**good, "images": [{"format": "png", "name": "x", "url": "http://example.invalid/a.png"}]},
    }
    with Emulator("naver", gt_answers) as emu:
        for what, body in bodies.items():
            response = requests.post(emu.url, json=body, timeout=TIMEOUT)
            assert (response.status_code, response.json()["code"]) == (400, "0011"), what
        response = requests.post(emu.url, data=b"{not json", headers={"Content-Type": "application/json"},
                                 timeout=TIMEOUT)
        assert (response.status_code, response.json()["code"]) == (400, "0011")
        # a well-formed request whose image cannot be decoded: CLOVA answers 200 with inferResult ERROR
        response = post_naver(emu.url, "broken", b"definitely not an image")
        assert response.status_code == 200
        assert response.json()["images"][0]["inferResult"] == "ERROR"
        assert not naver.parse(response.json()).is_ok
        # and the multipart form of the same API works too
        message = json.dumps({k: v for k, v in naver_body("sign", data).items()} | {
            "images": [{"format": "png", "name": "sign"}]})
        response = requests.post(emu.url, files={"message": (None, message), "file": ("sign.png", data)},
                                 timeout=TIMEOUT)
        assert response.status_code == 200 and response.json()["images"][0]["name"] == "sign"


@pytest.mark.slow
def test_kakao_and_jenti_require_their_multipart_field(gt_answers) -> None:
    data = png_bytes()
    with Emulator("kakao", gt_answers) as emu:
        for response in (requests.post(emu.url, files={"file": ("a.png", data)}, timeout=TIMEOUT),
                         requests.post(emu.url, data=data, timeout=TIMEOUT),
                         requests.post(emu.url, data=b"--x--", timeout=TIMEOUT,  # an RFC 2231 UTF-8 boundary
                                       headers={"Content-Type": "multipart/form-data; boundary*=UTF-8''%EA%B2%BD"}),
                         post_kakao(emu.url, "a.png", b"not an image")):
            assert response.status_code == 400
            assert response.json()["code"] == -2
            assert not kakao.parse(response.json()).is_ok
    with Emulator("jenti", gt_answers) as emu:
        for response in (requests.post(emu.url, files={"image": ("a.png", data)}, timeout=TIMEOUT),
                         post_jenti(emu.url, "a.png", b"not an image")):
            assert response.status_code == 400
            assert not jenti.parse(response.json()).is_ok


@pytest.mark.slow
def test_wrong_path_method_and_garbage_never_kill_the_server(gt_answers) -> None:
    data = png_bytes()
    with Emulator("kakao", gt_answers) as emu:
        base = emu.url.rsplit("/v2/", 1)[0]
        assert requests.post(base + "/v2/vision/nothing", files={"image": ("a.png", data)}, timeout=TIMEOUT).status_code == 404
        assert requests.get(emu.url, timeout=TIMEOUT).status_code == 405
        with socket.create_connection(("127.0.0.1", emu.port), timeout=TIMEOUT) as raw:
            raw.sendall(b"\x00\xff garbage that is not HTTP\r\n\r\n")
            raw.recv(4096)
        with socket.create_connection(("127.0.0.1", emu.port), timeout=TIMEOUT) as raw:
            raw.sendall(b"POST /v2/vision/text/ocr HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
            assert b" 413 " in raw.recv(4096)
        assert post_kakao(emu.url, "a.png", data).status_code == 200


@pytest.mark.slow
def test_chunked_bodies_are_read_and_bad_chunk_sizes_refused(gt_answers) -> None:
    data = png_bytes()
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
            + data + b"\r\n--B--\r\n")
    with Emulator("jenti", gt_answers) as emu:
        chunked = requests.post(emu.url, data=iter([body[:50], body[50:]]), timeout=TIMEOUT,
                                headers={"Content-Type": "multipart/form-data; boundary=B"})
        assert chunked.status_code == 200 and chunked.json() == {}
        for size in (b"-1", b"+10", b"1_0", b"0x10", b""):  # -1 used to read until the client closed
            with socket.create_connection(("127.0.0.1", emu.port), timeout=TIMEOUT) as raw:
                raw.sendall(b"POST /evaluation HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + size + b"\r\n" + b"x" * 100)
                assert raw.recv(4096).startswith(b"HTTP/1.1 400 "), size
        assert post_jenti(emu.url, "a.png", data).status_code == 200


def _declared_size_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height: a decompression bomb to Pillow."""
    data = bytearray(png_bytes((1, 1)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.slow
def test_decompression_bombs_get_the_bad_image_error(gt_answers) -> None:
    bomb = _declared_size_png(30000, 30000)
    with Emulator("naver", gt_answers) as emu:
        response = post_naver(emu.url, "bomb", bomb)
        assert response.status_code == 200 and response.json()["images"][0]["inferResult"] == "ERROR"
    with Emulator("kakao", gt_answers) as emu:
        response = post_kakao(emu.url, "bomb.png", bomb)
        assert (response.status_code, response.json()["code"]) == (400, -2)
    with Emulator("jenti", gt_answers) as emu:
        response = post_jenti(emu.url, "bomb.png", bomb)
        assert response.status_code == 400 and not jenti.parse(response.json()).is_ok


# ---------------------------------------------------------------- faults

@pytest.mark.slow
def test_error_rate_answers_5xx_in_the_provider_shape(gt_answers) -> None:
    with Emulator("naver", gt_answers, Faults(error_rate=1.0, seed=3)) as emu:
        responses = [post_naver(emu.url, "x", png_bytes()) for _ in range(8)]
    assert {r.status_code for r in responses} <= {500, 503}
    assert {r.json()["code"] for r in responses} <= {"0500", "0501"}
    assert len({r.status_code for r in responses}) == 2  # both kinds occur
    assert all(record.fault == "error" for record in emu.requests)


@pytest.mark.slow
def test_partial_error_rate_is_reproducible_with_the_same_seed(gt_answers) -> None:
    def statuses(seed: int) -> list[int]:
        with Emulator("jenti", gt_answers, Faults(error_rate=0.5, seed=seed)) as emu:
            return [post_jenti(emu.url, "a.png", png_bytes()).status_code for _ in range(12)]

    first = statuses(7)
    assert first == statuses(7)
    assert 200 in first and set(first) - {200}


@pytest.mark.slow
def test_rate_limit_answers_429_with_retry_after(gt_answers) -> None:
    # CLOVA documents its rate limit as HTTP 400 with code 0025: only the body tells it apart
    with Emulator("naver", gt_answers, Faults(rate_limit_rate=1.0, retry_after=2)) as emu:
        response = post_naver(emu.url, "x", png_bytes())
    assert response.status_code == 400
    assert response.headers["Retry-After"] == "2"
    assert response.json()["code"] == "0025"
    with Emulator("kakao", gt_answers, Faults(rate_limit_rate=1.0, retry_after=0.5)) as emu:
        response = post_kakao(emu.url, "a.png", png_bytes())
    assert response.status_code == 429 and float(response.headers["Retry-After"]) == 0.5


@pytest.mark.slow
def test_drop_closes_the_connection_without_an_answer(gt_answers) -> None:
    with Emulator("kakao", gt_answers, Faults(drop_rate=0.5, seed=1)) as emu:
        outcomes = []
        for _ in range(12):
            try:
                outcomes.append(post_kakao(emu.url, "a.png", png_bytes()).status_code)
            except requests.ConnectionError:
                outcomes.append("dropped")
        records = emu.requests
    assert "dropped" in outcomes and 200 in outcomes  # the server survives its own drops
    assert outcomes.count("dropped") == sum(r.fault == "drop" and r.status == 0 for r in records)


@pytest.mark.slow
def test_truncate_sends_a_200_with_an_unparseable_body(gt_answers, korean_images) -> None:
    path = korean_images.files["sign_exit"]
    with Emulator("naver", gt_answers, Faults(truncate_rate=1.0)) as emu:
        response = post_naver(emu.url, "sign_exit", path.read_bytes())
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(ValueError):
        response.json()
    assert response.text.startswith('{"version"')


@pytest.mark.slow
@pytest.mark.parametrize("provider, code", [("naver", "0023"), ("kakao", -10)])
def test_quota_after_n_successful_answers(gt_answers, provider: str, code) -> None:
    post = post_naver if provider == "naver" else (lambda url, name, data: post_kakao(url, name + ".png", data))
    with Emulator(provider, gt_answers, Faults(quota=2)) as emu:
        statuses = [post(emu.url, f"img{k}", png_bytes()) for k in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 400, 400, 400]
    assert all(r.json()["code"] == code for r in statuses[2:])
    parser = naver if provider == "naver" else kakao
    assert not parser.parse(statuses[-1].json()).is_ok


@pytest.mark.slow
def test_latency_is_added_before_the_answer(gt_answers) -> None:
    with Emulator("jenti", gt_answers, Faults(latency_ms=300)) as emu:
        start = time.perf_counter()
        assert post_jenti(emu.url, "a.png", png_bytes()).status_code == 200
        assert time.perf_counter() - start >= 0.3


@pytest.mark.slow
def test_fail_first_fails_each_image_n_times_then_answers(gt_answers) -> None:
    with Emulator("naver", gt_answers, Faults(fail_first=2)) as emu:
        a = [post_naver(emu.url, "a", png_bytes()).status_code for _ in range(3)]
        b = [post_naver(emu.url, "b", png_bytes()).status_code for _ in range(3)]
        assert a == b == [503, 503, 200]
        assert emu.calls_for("a") == emu.calls_for("b") == 3
        assert [r.fault for r in emu.requests if r.image == "a"] == ["fail_first", "fail_first", ""]


def test_fault_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError):
        Faults(error_rate=0.6, drop_rate=0.6)
    with pytest.raises(ValueError):
        Emulator("naver", RecordedAnswers(REPO_ROOT), host="0.0.0.0")
    with pytest.raises(InputError):
        RecordedAnswers(REPO_ROOT / "no-such-folder")


@pytest.mark.slow
def test_concurrent_requests_each_get_their_own_image_answer(korean_images, gt_answers) -> None:
    stems = list(korean_images.files) * 4
    with Emulator("naver", gt_answers, Faults(latency_ms=50)) as emu:
        with ThreadPoolExecutor(max_workers=8) as pool:
            bodies = list(pool.map(lambda s: post_naver(emu.url, s, korean_images.files[s].read_bytes()).json(),
                                   stems))
    for stem, body in zip(stems, bodies):
        assert body["images"][0]["name"] == stem
        assert [i.text for i in naver.parse(body).items] == [w.text for w in korean_images.care_words(stem)]


@pytest.mark.slow
def test_stop_ends_keep_alive_connections(gt_answers) -> None:
    session = requests.Session()
    emu = Emulator("jenti", gt_answers).start()
    assert session.post(emu.url, files={"file": ("a.png", png_bytes())}, timeout=TIMEOUT).status_code == 200
    url = emu.url
    emu.stop()
    with pytest.raises(requests.ConnectionError):
        session.post(url, files={"file": ("a.png", png_bytes())}, timeout=TIMEOUT)


# ---------------------------------------------------------------- bench emulate

def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)


@pytest.mark.slow
def test_bench_emulate_serves_until_ctrl_c_and_never_prints_the_secret(korean_images, tmp_path: Path) -> None:
    env = {**os.environ, "KAKAO_REST_API_KEY": KAKAO_KEY, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(REPO_ROOT / "bench.py"), "emulate", "kakao", "--port", "0",
               "--gt", str(korean_images.gt_dir), "--fail-first", "1"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    output = []
    try:
        url = None
        while url is None:
            line = lines.get(timeout=20)
            output.append(line)
            if line.startswith("emulating kakao at "):
                url = line.split(" at ", 1)[1].strip()
        path = korean_images.files["sign_exit"]
        assert post_kakao(url, path.name, path.read_bytes()).status_code == 503
        assert post_kakao(url, path.name, path.read_bytes(), key="wrong").status_code == 401
        ok = post_kakao(url, path.name, path.read_bytes())
        assert ok.status_code == 200 and kakao.parse(ok.json()).items
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    while not lines.empty():
        output.append(lines.get())
    stdout = "".join(output)
    assert process.returncode == 130
    assert "KAKAO_OCR_URL=" + url in stdout and "KAKAO_REST_API_KEY" in stdout
    assert KAKAO_KEY not in stdout and KAKAO_KEY not in stderr


@pytest.mark.slow
def test_bench_emulate_help_has_examples() -> None:
    out = subprocess.run([sys.executable, str(REPO_ROOT / "bench.py"), "emulate", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "Examples:" in out.stdout and "bench emulate naver --port" in out.stdout
