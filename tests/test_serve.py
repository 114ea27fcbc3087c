"""`bench serve`: the real server (a `bench serve` subprocess on 127.0.0.1) and its pure WSGI app.

The done-when of issue 6: `bench collect --provider jenti` against `bench serve` gives the items
of `bench collect --provider tesseract` on the same images, apart from what the Light-OCR shape
loses (confidences, and all but the last box of a repeated text); `/v1/ocr` loses nothing.
"""
from __future__ import annotations

import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from adapters.providers.results import load_results
from adapters.core.schema import Item, parse_image_result, parse_result_set
from adapters.core import multipart
from adapters.providers import registry
from adapters.providers.registry import Settings
from adapters.serving.app import ROUTES, ApiError, App, EngineSlots, read_body
from adapters.serving.run import MAX_DEFAULT_THREADS, Server, ServeOptions, default_threads, waiting_limit
from collect_support import bench_cmd, bench_env, run_bench
from conftest import render_text_image

WIRE = registry.get("jenti")  # /evaluation answers in the Light-OCR shape
MAX_UPLOAD_MB = 1
MAX_PIXELS = 4_000_000
THREADS = 8  # 2 in the engine, up to 5 waiting, 1 for /health: room for the 6 concurrent clients below
REPEATED = "sign_parking"  # 주차장 twice: the Light-OCR shape keeps one of them


@dataclass(frozen=True)
class Served:
    url: str
    host: str
    port: int
    process: subprocess.Popen
    stderr: Path


def _wait_for_url(stdout: Path, process: subprocess.Popen, seconds: float = 30.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(r"at (http://127\.0\.0\.1:\d+) ", stdout.read_text(encoding="utf-8"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"bench serve did not start: {stdout.read_text(encoding='utf-8')}")


def _start(workdir: Path, *args: str, **popen: Any) -> tuple[subprocess.Popen, str, Path]:
    stdout, stderr = workdir / "serve.out", workdir / "serve.err"
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen(bench_cmd("serve", "--port", "0", *args), cwd=workdir, env=bench_env(),
                                   stdout=out, stderr=err, **popen)
    return process, _wait_for_url(stdout, process), stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    workdir = tmp_path_factory.mktemp("serve")
    process, url, stderr = _start(workdir, "--workers", "2", "--threads", str(THREADS),
                                  "--max-upload-mb", str(MAX_UPLOAD_MB), "--max-pixels", str(MAX_PIXELS))
    host, port = url.removeprefix("http://").split(":")
    yield Served(url, host, int(port), process, stderr)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0  # a clean stop


@pytest.fixture(scope="module")
def images(korean_images, nanum_font, tmp_path_factory) -> Path:
    """The conftest sign images plus one in which a word appears twice."""
    folder = tmp_path_factory.mktemp("serve_images")
    for path in korean_images.files.values():
        shutil.copy(path, folder / path.name)
    image, _ = render_text_image(nanum_font, (480, 240), [("주차장", 40, 40, 60), ("입구", 300, 40, 60),
                                                          ("주차장", 40, 150, 60)])
    image.save(folder / f"{REPEATED}.png")
    return folder


@pytest.fixture(scope="module")
def tesseract_run(images, tmp_path_factory) -> Path:
    """`bench collect --provider tesseract` on the images: the reference."""
    out = tmp_path_factory.mktemp("tesseract_run")
    done = run_bench(["collect", "--provider", "tesseract", "--images", str(images), "--out", str(out),
                      "--no-progress"], cwd=out, env=bench_env())
    assert done.returncode == 0, done.stderr
    return out


def _light_ocr_view(items: tuple[Item, ...]) -> list[tuple[str, Any]]:
    """What the Light-OCR shape can say about items: one (text, polygon) per distinct text, the
    last box winning, in order of first appearance (a dict's behaviour, as the original server)."""
    boxes: dict[str, Any] = {}
    for item in items:
        boxes[item.text] = item.polygon
    return list(boxes.items())


# ------------------------------------------------------------------------------------------ done when

@pytest.mark.slow
def test_collect_jenti_against_serve_equals_collect_tesseract(served, images, tesseract_run, tmp_path):
    done = run_bench(["collect", "--provider", "jenti", "--images", str(images), "--out", str(tmp_path),
                      "--no-progress"], cwd=tmp_path, env=bench_env(JENTI_OCR_URL=f"{served.url}/evaluation"))
    assert done.returncode == 0, done.stderr
    jenti = load_results(tmp_path / "jenti.json")  # exactly what `bench eval --api_res_json` reads
    tess = load_results(tesseract_run / "tesseract.json")
    assert (jenti.provider, tess.provider) == ("jenti", "tesseract")
    assert set(jenti.images) == set(tess.images) == {path.stem for path in images.iterdir()}
    for stem, reference in tess.images.items():
        assert reference.is_ok and reference.items, f"{stem}: the engine read nothing; the comparison would be empty"
        got = jenti.images[stem]
        assert [(item.text, item.polygon) for item in got.items] == _light_ocr_view(reference.items), stem
        assert all(item.confidence is None for item in got.items)
    # what the original shape loses, and only that: the repeated word keeps its last box
    read_twice = [item for item in tess.images[REPEATED].items if item.text == "주차장"]
    kept = [item for item in jenti.images[REPEATED].items if item.text == "주차장"]
    assert len(read_twice) == 2 and len(kept) == 1 and kept[0].polygon == read_twice[-1].polygon


@pytest.mark.slow
def test_v1_ocr_is_lossless(served, images, tesseract_run):
    reference = json.loads((tesseract_run / "tesseract.normalized.json").read_text(encoding="utf-8"))
    parsed = parse_result_set(reference)
    for path in sorted(images.iterdir()):
        with open(path, "rb") as handle:
            answer = requests.post(f"{served.url}/v1/ocr", files={"file": (path.name, handle)}, timeout=60)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
        assert answer.json() == reference["images"][path.stem]  # confidences, sizes, order: all of it
        result = parse_image_result(answer.json(), path.name)
        assert result.items == parsed.images[path.stem].items and result.items
    assert len([i for i in parsed.images[REPEATED].items if i.text == "주차장"]) == 2


# ------------------------------------------------------------------------------------------ bad input

BOUNDARY = "serve-test-boundary"


def _form(*fields: tuple[str, str | None, str | None, bytes]) -> bytes:
    """A multipart/form-data body; each field is (name, file name, content type, data)."""
    chunks = []
    for name, filename, content_type, data in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
    return b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()


def _request(method: str, path: str, body: bytes = b"", content_type: str | None = None,
             headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    extra = headers or {}
    if "Transfer-Encoding" not in extra:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _exchange(served: Served, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a fresh connection and read one HTTP response."""
    with socket.create_connection((served.host, served.port), timeout=30) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _declared_size_png(width: int, height: int) -> bytes:
    """A valid PNG header that claims width x height: a decompression bomb as far as headers go."""
    data = bytearray(_png(Image.new("1", (1, 1))))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def _multipart_type() -> str:
    return f"multipart/form-data; boundary={BOUNDARY}"


@pytest.mark.slow
def test_malformed_requests_get_json_errors_and_the_server_keeps_serving(served, images, tesseract_run):
    good = (images / "sign_hall.png").read_bytes()
    form = _multipart_type()
    truncated_form = _form(("file", "a.png", "image/png", good))[:-len(f"\r\n--{BOUNDARY}--\r\n") - 10]
    cases = [
        ("no body", _request("POST", "/evaluation"), 400, "missing_file"),
        ("no file field", _request("POST", "/evaluation", _form(("image", "a.png", "image/png", good)), form),
         400, "missing_file"),
        ("empty file", _request("POST", "/v1/ocr", _form(("file", "a.png", "image/png", b"")), form),
         400, "empty_file"),
        ("text file", _request("POST", "/evaluation", _form(("file", "a.png", "image/png", b"hello " * 50)), form),
         400, "not_an_image"),
        ("pdf", _request("POST", "/evaluation", _form(("file", "a.pdf", "application/pdf", b"%PDF-1.4\n%\xe2\xe3")),
                         form), 415, "unsupported_format"),
        ("tga", _request("POST", "/evaluation", _form(("file", "a.tga", None, _tga(images))), form),
         415, "unsupported_format"),
        ("raw image body", _request("POST", "/evaluation", good, "image/png"), 415, "unsupported_media_type"),
        ("no boundary", _request("POST", "/evaluation", _form(("file", "a.png", None, good)), "multipart/form-data"),
         400, "malformed_multipart"),
        ("truncated multipart", _request("POST", "/evaluation", truncated_form, form), 400, "malformed_multipart"),
        ("non-ASCII boundary", _request("POST", "/evaluation", _form(("file", "a.png", None, good)),
                                        "multipart/form-data; boundary*=UTF-8''%EA%B2%BD"), 400, "malformed_multipart"),
        ("too many parts", _request("POST", "/evaluation", _form(*[("f", None, None, b"")] * 100,
                                                                 ("file", "a.png", None, good)), form),
         400, "malformed_multipart"),
        ("truncated png", _request("POST", "/v1/ocr", _form(("file", "a.png", "image/png", good[: len(good) // 2])),
                                   form), 400, "unreadable_image"),
        ("pillow bomb", _request("POST", "/evaluation", _form(("file", "b.png", "image/png",
                                                               _declared_size_png(30000, 30000))), form),
         413, "too_many_pixels"),
        ("over --max-pixels", _request("POST", "/evaluation", _form(("file", "b.png", "image/png",
                                                                     _png(Image.new("1", (2500, 2000))))), form),
         413, "too_many_pixels"),
        # the body is never sent: the 413 must come from the header alone
        ("over --max-upload-mb", _request("POST", "/evaluation", b"", form, length=5 * 1024 * 1024), 413, "too_large"),
        ("bad content-length", _request("POST", "/evaluation", b"", form, headers={"Content-Length": "12ab"}),
         400, "bad_request"),
        ("bad chunked body", _request("POST", "/evaluation", b"zz\r\nabc\r\n0\r\n\r\n", form,
                                      headers={"Transfer-Encoding": "chunked"}), 400, "bad_request"),
        ("unknown route", _request("POST", "/predict", _form(("file", "a.png", None, good)), form), 404, "not_found"),
        ("wrong method", _request("GET", "/evaluation"), 405, "method_not_allowed"),
        ("wrong method on health", _request("DELETE", "/health"), 405, "method_not_allowed"),
    ]
    statuses: dict[str, set[int]] = {}
    for name, raw, status, code in cases:
        got, headers, body = _exchange(served, raw)
        assert got == status, f"{name}: {got} {body[:300]!r}"
        assert headers["content-type"].startswith("application/json"), name
        payload = json.loads(body)
        assert payload["status"] == status and payload["code"] == code and payload["error"], name
        method, path = raw.decode("latin-1").split(" ", 2)[:2]
        if method == "POST":
            statuses.setdefault(path, set()).add(status)
        if status == 405:
            assert headers["allow"] == {"/evaluation": "POST", "/health": "GET, HEAD"}[path], name

    # a client that goes away mid-upload, then one that stalls after part of its headers
    for partial in (_request("POST", "/evaluation", good, form)[: 300 + len(good) // 3],
                    b"POST /evaluation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"):
        with socket.create_connection((served.host, served.port), timeout=10) as sock:
            sock.sendall(partial)

    # every refusal of an upload route is documented for that route
    spec = requests.get(f"{served.url}/openapi.json", timeout=10).json()
    for path in ("/evaluation", "/v1/ocr"):
        documented = {int(code) for code in spec["paths"][path]["post"]["responses"]}
        assert statuses[path] <= documented, path

    # now good requests, concurrently, through both routes, one with a hostile file name
    reference = load_results(tesseract_run / "tesseract.json")

    def post(job: tuple[str, Path, str]) -> tuple[str, Path, requests.Response]:
        route, path, name = job
        return route, path, requests.post(f"{served.url}{route}", files={"file": (name, path.read_bytes())}, timeout=60)

    jobs = [(route, path, name) for path in sorted(images.iterdir()) for route in ("/evaluation", "/v1/ocr")
            for name in (path.name, "../../../../etc/passwd")]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, jobs))
    assert len(answers) == 16
    for route, path, answer in answers:
        assert answer.status_code == 200, (route, path.name, answer.text)
        expected = reference.images[path.stem].items
        if route == "/v1/ocr":
            assert parse_image_result(answer.json(), path.name).items == expected
        else:
            assert [(text, [v for point in polygon for v in point]) for text, polygon in _light_ocr_view(expected)] \
                == list(answer.json().items())
    assert served.process.poll() is None
    assert "Traceback" not in served.stderr.read_text(encoding="utf-8")


def _tga(images: Path) -> bytes:
    buffer = io.BytesIO()
    Image.open(images / "sign_hall.png").save(buffer, "TGA")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ health, OpenAPI

@pytest.mark.slow
def test_health_and_head(served):
    answer = requests.get(f"{served.url}/health", timeout=10)
    assert answer.status_code == 200
    health = answer.json()
    assert health["status"] == "ok" and health["ready"] is True and health["engine"] == "tesseract"
    assert health["languages"] == ["kor", "eng"] and health["workers"] == 2
    assert health["max_waiting"] == THREADS - 2 - 1  # all but the engine's 2 and one for /health
    assert health["limits"] == {"max_upload_bytes": MAX_UPLOAD_MB * 1024 * 1024, "max_pixels": MAX_PIXELS}
    head = requests.head(f"{served.url}/health", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(answer.content)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for key in ref[2:].split("/"):
        node = node[key]
    return node


@pytest.mark.slow
def test_openapi_document_describes_every_route(served):
    answer = requests.get(f"{served.url}/openapi.json", timeout=10)
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["openapi"].startswith("3.0.")
    assert doc["info"]["title"] and doc["info"]["version"]
    documented = {(path, method.upper()) for path, operations in doc["paths"].items() for method in operations}
    assert documented == {(path, method) for path, methods in ROUTES.items() for method in methods}
    ids = set()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"] and operation["operationId"] not in ids
            ids.add(operation["operationId"])
            assert "200" in operation["responses"]
            assert all(response["description"] for response in operation["responses"].values())
            if method == "post":
                schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
                assert schema["required"] == ["file"] and schema["properties"]["file"]["format"] == "binary"
    refs = _refs(doc)
    assert refs and all(_resolve(doc, ref) for ref in refs)
    errors = _resolve(doc, "#/components/schemas/Error")
    assert set(errors["required"]) == {"error", "code", "status"}


# ------------------------------------------------------------------------------------------ the app, no sockets

class _CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_read_body_refuses_before_reading_and_caps_the_read():
    stream = _CountingStream(b"x" * 5000)
    with pytest.raises(ApiError) as refused:
        read_body(stream, "5000", limit=1000)
    assert refused.value.status == 413 and stream.bytes_read == 0
    stream = _CountingStream(b"x" * 5000)  # no Content-Length: read at most limit + 1
    with pytest.raises(ApiError) as capped:
        read_body(stream, None, limit=1000)
    assert capped.value.status == 413 and stream.bytes_read == 1001
    assert read_body(_CountingStream(b"x" * 1000), None, limit=1000) == b"x" * 1000


@pytest.mark.slow
def test_a_body_shorter_than_its_content_length_gets_no_answer(served):
    """What the README says: waitress waits for the rest and closes the connection unanswered."""
    with socket.create_connection((served.host, served.port), timeout=30) as sock:
        sock.sendall(_request("POST", "/evaluation", b"--" + BOUNDARY.encode() + b"\r\n", _multipart_type(),
                              length=1000))
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(4096) == b""
    assert requests.get(f"{served.url}/health", timeout=10).status_code == 200


def test_every_error_code_in_the_readme_can_be_answered():
    """The docs' error table of `bench serve` lists only codes the app or the runner produce."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "docs" / "commands.md").read_text(encoding="utf-8")
    section = readme[readme.index("## `bench serve`"):]
    section = section[:section.index("\n## ")]
    documented = {code for row in re.findall(r"^\| \d{3}[^|]*\|([^|]*)\|", section, re.M)
                  for code in re.findall(r"`(\w+)`", row)}
    source = "".join((root / "adapters" / "serving" / name).read_text(encoding="utf-8") for name in ("app.py", "run.py"))
    produced = set(re.findall(r'ApiError\(\d{3}, "(\w+)"', source)) | set(re.findall(r'\d{3}: "(\w+)"', source))
    assert documented and {"missing_file", "engine_busy", "too_large"} <= documented
    assert documented <= produced, documented - produced


def test_multipart_refuses_non_ascii_boundaries_and_many_parts():
    with pytest.raises(multipart.MultipartError, match="not ASCII"):
        multipart.parse(b"--x\r\n\r\n--x--", "multipart/form-data; boundary*=UTF-8''%EA%B2%BD")
    empty = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n'.encode()
    closing = f"--{BOUNDARY}--\r\n".encode()
    parts = multipart.parse(empty * multipart.MAX_PARTS + closing, _multipart_type(), require_end=True)
    assert list(parts) == ["a"] and parts["a"].data == b""
    with pytest.raises(multipart.MultipartError, match=f"more than {multipart.MAX_PARTS} parts"):
        multipart.parse(empty * (multipart.MAX_PARTS + 1) + closing, _multipart_type())
    with pytest.raises(multipart.MultipartError, match="more than"):  # 20 MB of empty parts: stops early
        multipart.parse(empty * (20 * 1024 * 1024 // len(empty)) + closing, _multipart_type())
    with pytest.raises(multipart.MultipartError, match="headers are over"):
        multipart.parse(f"--{BOUNDARY}\r\nX: {'y' * multipart.MAX_PART_HEADER}\r\n\r\ndata\r\n".encode() + closing,
                        _multipart_type())


def _call(app: App, method: str, path: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO()}, start_response))
    return seen["status"], seen["headers"], body


@pytest.mark.slow
def test_health_is_503_when_a_language_is_missing():
    status, headers, body = _call(App(TesseractEngine(lang="kor+zzz"), WIRE), "GET", "/health")
    payload = json.loads(body)
    assert status == "503 Service Unavailable" and headers["Content-Type"].startswith("application/json")
    assert payload["status"] == "unavailable" and payload["ready"] is False and "'zzz'" in payload["error"]


@pytest.mark.slow
def test_engine_slots_bound_concurrency_and_a_full_queue_answers_503(images):
    data = (images / "sign_hall.png").read_bytes()
    engine = TesseractEngine(workers=2)
    peaks = {"busy": 0, "waiting": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            health = engine.health()
            peaks["busy"] = max(peaks["busy"], health["busy"])
            peaks["waiting"] = max(peaks["waiting"], health["waiting"])

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(max_workers=5) as pool:
            results = list(pool.map(lambda _: engine.recognize(data), range(5)))
    finally:
        stop.set()
        sampler.join()
    assert peaks["busy"] <= 2 and all(result.items == results[0].items for result in results) and results[0].items
    assert engine.health()["busy"] == 0 and engine.health()["waiting"] == 0

    full = TesseractEngine(workers=1, queue_timeout=0.05)
    assert full._slots.acquire(timeout=1)  # the only slot is taken by someone else
    try:
        with pytest.raises(ApiError) as busy:
            full.recognize(data)
    finally:
        full._slots.release()
    assert (busy.value.status, busy.value.code) == (503, "engine_busy")
    assert dict(busy.value.headers)["Retry-After"]


class TesseractEngine(EngineSlots):
    """The local Tesseract engine in slots, with its options as keywords."""

    def __init__(self, lang: str | None = None, psm: int | None = None, **kwargs: Any) -> None:
        super().__init__(registry.get("tesseract"), Settings(lang=lang, psm=psm), **kwargs)


class _GatedEngine(TesseractEngine):
    """Tesseract that starts only once the test opens the gate: a saturated engine, in-process."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = threading.Event()

    def _run(self, data: bytes) -> dict[str, Any]:
        assert self.gate.wait(timeout=60), "the test never opened the gate"
        return super()._run(data)


@pytest.mark.slow
def test_health_answers_while_the_engine_is_saturated(images):
    data = (images / "sign_hall.png").read_bytes()
    threads, workers = 3, 1
    engine = _GatedEngine(workers=workers, max_waiting=waiting_limit(threads, workers), queue_timeout=60)
    assert engine.max_waiting == 1
    with Server(App(engine, WIRE), ServeOptions(port=0, threads=threads)) as server, \
            ThreadPoolExecutor(max_workers=5) as pool:
        try:
            uploads = [pool.submit(requests.post, f"{server.url}/v1/ocr", files={"file": ("a.png", data)},
                                   timeout=60) for _ in range(5)]
            deadline = time.monotonic() + 30  # until one runs, one waits and the other three are refused
            while sum(upload.done() for upload in uploads) < 3 or engine.health()["waiting"] < 1:
                assert time.monotonic() < deadline, engine.health()
                time.sleep(0.02)
            health = requests.get(f"{server.url}/health", timeout=5)  # without the cap: stuck behind the uploads
            assert health.status_code == 200
            assert (health.json()["busy"], health.json()["waiting"], health.json()["max_waiting"]) == (1, 1, 1)
            refused = [upload.result() for upload in uploads if upload.done()]
            assert [answer.status_code for answer in refused] == [503] * 3
            assert all(answer.json()["code"] == "engine_busy" and answer.headers["Retry-After"] for answer in refused)
        finally:
            engine.gate.set()
        served = [upload.result() for upload in uploads if upload.result().status_code == 200]
        assert len(served) == 2 and served[0].json()["items"] and served[0].json() == served[1].json()
    assert engine.health()["busy"] == engine.health()["waiting"] == 0


def test_default_threads_are_bounded_and_leave_room_to_wait():
    assert [default_threads(workers) for workers in (1, 2, 3, 8, 12, 64)] == [8, 16, 16, 16, 16, 66]
    assert all(default_threads(w) <= max(MAX_DEFAULT_THREADS, w + 2) for w in range(1, 200))
    assert all(waiting_limit(default_threads(w), w) >= 1 for w in range(1, 200))
    assert waiting_limit(3, 4) == 0


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs CPU affinity and at least two usable CPUs")
def test_default_workers_follow_the_cpus_this_process_may_use(tmp_path):
    one_cpu = {min(os.sched_getaffinity(0))}
    process, url, _ = _start(tmp_path, preexec_fn=lambda: os.sched_setaffinity(0, one_cpu))
    try:
        health = requests.get(f"{url}/health", timeout=10).json()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert (health["workers"], health["max_waiting"]) == (1, waiting_limit(default_threads(1), 1))


# ------------------------------------------------------------------------------------------ the command

@pytest.mark.slow
def test_serve_stops_on_ctrl_c_and_refuses_a_busy_port(tmp_path):
    process, url, _ = _start(tmp_path, "--workers", "1")
    try:
        assert requests.get(f"{url}/health", timeout=10).status_code == 200
        port = url.rsplit(":", 1)[1]
        busy = run_bench(["serve", "--port", port], cwd=tmp_path, env=bench_env(), timeout=30)
        assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=15)
    assert code == 130
