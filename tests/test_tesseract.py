"""The local engine: real Tesseract runs on rendered Korean images, and the pure TSV / parse side."""
from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from adapters.providers import tesseract
from adapters.core.errors import PermanentError
from adapters.providers.results import detect_provider, parse_raw_layout
from adapters.providers.response_fields import ResponseFormatError

needs_engine = pytest.mark.skipif(tesseract.available() is not None,
                                  reason=f"local engine unavailable: {tesseract.available()}")


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def _box(polygon) -> tuple[float, float, float, float]:
    xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
    return min(xs), min(ys), max(xs), max(ys)


# ---------------------------------------------------------------- real runs

@pytest.mark.slow
@needs_engine
def test_reads_drawn_korean_words_where_they_are(korean_images) -> None:
    path = korean_images.files["sign_exit"]
    raw = tesseract.recognize(path)
    json.dumps(raw)  # the raw response is JSON-able as is
    assert raw["engine"] == "tesseract" and raw["lang"] == "kor+eng" and raw["psm"] == tesseract.DEFAULT_PSM
    assert raw["version"][0].isdigit()
    with Image.open(path) as img:
        assert (raw["width"], raw["height"]) == img.size
    result = tesseract.parse(raw)
    assert result.is_ok and (result.width, result.height) == (raw["width"], raw["height"])
    found = {unicodedata.normalize("NFC", item.text): item for item in result.items}
    drawn = korean_images.care_words("sign_exit")
    read = [word for word in drawn if word.text in found]
    assert read, f"read none of {[w.text for w in drawn]}; got {list(found)}"
    for word in read:  # a word read is also where it was drawn
        assert _iou(_box(found[word.text].polygon), word.box) > 0.5
    for item in result.items:
        (l, t), (r, t2), (r2, b), (l2, b2) = item.polygon
        assert (l, t, r, b) == (l2, t2, r2, b2) and l <= r and t <= b  # TL, TR, BR, BL rectangle
        assert 0.0 <= item.confidence <= 1.0 and item.text.strip() and item.granularity == "word"


@pytest.mark.slow
@needs_engine
def test_exif_orientation_is_applied_before_recognition(korean_images) -> None:
    upright = Image.open(korean_images.files["sign_hall"]).convert("RGB")
    stored = upright.rotate(90, expand=True)  # as a phone stores it: pixels turned, EXIF says how to view
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif)
    for source in (buffer.getvalue(), _write(buffer.getvalue(), korean_images.images_dir.parent / "turned.jpg")):
        raw = tesseract.recognize(source)
        assert (raw["width"], raw["height"]) == upright.size
        assert "도서관" in [unicodedata.normalize("NFC", i.text) for i in tesseract.parse(raw).items]


def _write(data: bytes, path: Path) -> Path:
    path.write_bytes(data)
    return path


@needs_engine
def test_bad_images_raise_a_permanent_error_naming_the_input(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="not an image"):
        tesseract.recognize(b"this is not an image")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(PermanentError, match="broken.png"):
        tesseract.recognize(broken)
    with pytest.raises(PermanentError, match="missing.png"):
        tesseract.recognize(tmp_path / "missing.png")


@pytest.mark.slow
@needs_engine
def test_raw_responses_are_recognised_by_the_results_loader(korean_images) -> None:
    raws = {stem: tesseract.recognize(path, psm=6) for stem, path in list(korean_images.files.items())[:2]}
    assert all(raw["psm"] == 6 for raw in raws.values())
    assert detect_provider(raws, "tesseract.json") == "tesseract"
    results = parse_raw_layout(raws, "tesseract.json")
    assert set(results.images) == set(raws) and all(r.is_ok for r in results.images.values())


needs_vertical = pytest.mark.skipif(tesseract.available("kor_vert") is not None,
                                    reason=f"vertical Korean unavailable: {tesseract.available('kor_vert')}")


@pytest.mark.slow
@needs_vertical
@pytest.mark.parametrize("lang", ["kor_vert", "kor+kor_vert"])
def test_vertical_korean_is_read_with_kor_vert_and_the_vertical_default_psm(nanum_font, lang) -> None:
    from PIL import ImageDraw, ImageFont
    from adapters.providers import registry
    from adapters.providers.registry import Settings

    font = ImageFont.truetype(str(nanum_font), 48)
    image = Image.new("RGB", (300, 300), "white")
    draw = ImageDraw.Draw(image)
    for column, word in ((170, "도서관"), (50, "출입구")):  # read top to bottom, right column first
        for row, syllable in enumerate(word):
            draw.text((column, 40 + row * 58), syllable, font=font, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    spec = registry.get("tesseract")
    settings = spec.settings(Settings(lang=lang))
    assert settings.psm == tesseract.VERTICAL_PSM == 5
    raw = spec.engine.recognize(buffer.getvalue(), settings)
    assert (raw["lang"], raw["psm"]) == (lang, 5)
    texts = "".join(item.text for item in tesseract.parse(raw).items)
    assert "도서관" in unicodedata.normalize("NFC", texts)


def test_a_vertical_language_changes_only_the_default_psm() -> None:
    from adapters.providers import registry
    from adapters.providers.registry import Settings

    spec = registry.get("tesseract")
    assert spec.settings(Settings(lang="kor_vert")).psm == 5
    assert spec.settings(Settings(lang="kor_vert+eng", psm=11)).psm == 11
    assert spec.settings(Settings(lang="kor+eng")).psm == 11
    assert "kor_vert" in spec.option_help["lang"] and "vertical" in spec.option_help["psm"]


# ---------------------------------------------------------------- availability messages

def test_available_names_a_missing_binary_and_the_packages() -> None:
    message = tesseract.available(binary="/nonexistent/bin/tesseract")
    assert message is not None and "apt-get install tesseract-ocr tesseract-ocr-kor" in message


@pytest.mark.slow
@needs_engine
def test_available_names_missing_korean_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a tessdata folder with English only, as on a machine without tesseract-ocr-kor
    eng = _tessdata_file("eng")
    (tmp_path / "eng.traineddata").symlink_to(eng)
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    message = tesseract.available("kor+eng")
    assert message is not None and "'kor'" in message and "apt-get install tesseract-ocr tesseract-ocr-kor" in message
    assert tesseract.available("eng") is None


def _tessdata_file(lang: str) -> Path:
    for root in (Path("/usr/share/tesseract-ocr/5/tessdata"), Path("/usr/share/tesseract-ocr/4.00/tessdata"),
                 Path("/usr/share/tessdata"), Path("/usr/local/share/tessdata")):
        if (root / f"{lang}.traineddata").is_file():
            return root / f"{lang}.traineddata"
    pytest.skip(f"cannot locate {lang}.traineddata to build a partial tessdata folder")


@pytest.mark.slow
@pytest.mark.slow
@needs_engine
def test_available_names_the_packages_of_missing_vertical_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "eng.traineddata").symlink_to(_tessdata_file("eng"))
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    message = tesseract.available("kor_vert+Hangul_vert")
    assert message is not None and "apt-get install tesseract-ocr-kor-vert tesseract-ocr-script-hang-vert" in message


def test_available_names_other_missing_languages() -> None:
    if tesseract.available("eng") is not None:
        pytest.skip("tesseract is not installed")
    message = tesseract.available("kor+xyz")
    assert message is not None and "'xyz'" in message and "tesseract-ocr-xyz" in message


# ---------------------------------------------------------------- pure parsing

TSV = "\n".join([
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext",
    "1\t1\t0\t0\t0\t0\t0\t0\t640\t200\t-1\t",
    "4\t1\t1\t1\t1\t0\t10\t12\t300\t40\t-1\t",
    "5\t1\t1\t1\t1\t1\t10\t12\t80\t30\t91.5\t안녕하세요",
    "5\t1\t1\t1\t1\t2\t100\t12\t60\t30\t0\t ",
    "5\t1\t1\t1\t1\t3\t170\t14\t50\t28\t43.25\t1,000원",
    "",
])


def test_parse_tsv_keeps_word_rows_with_typed_columns() -> None:
    words = tesseract.parse_tsv(TSV)
    assert [w["text"] for w in words] == ["안녕하세요", " ", "1,000원"]
    assert words[0] == {"block": 1, "par": 1, "line": 1, "word": 1, "left": 10, "top": 12,
                        "width": 80, "height": 30, "conf": 91.5, "text": "안녕하세요"}


def test_parse_drops_empty_and_layout_rows_and_scales_confidence() -> None:
    raw = {"engine": "tesseract", "version": "5.3.0", "lang": "kor", "psm": 11, "width": 640, "height": 200,
           "words": tesseract.parse_tsv(TSV) + [
               {"block": 2, "par": 1, "line": 1, "word": 1, "left": 0, "top": 0, "width": 5, "height": 5,
                "conf": -1, "text": "x"},
               {"block": 2, "par": 1, "line": 1, "word": 2, "left": 1, "top": 2, "width": 3, "height": 4,
                "conf": 120, "text": "over"}]}
    result = tesseract.parse(raw)
    assert [i.text for i in result.items] == ["안녕하세요", "1,000원", "over"]
    assert [i.confidence for i in result.items] == [0.915, 0.4325, 1.0]
    assert result.items[0].polygon == ((10, 12), (90, 12), (90, 42), (10, 42))
    assert (result.width, result.height) == (640, 200)


def test_looks_like_and_malformed_raw() -> None:
    assert tesseract.looks_like({"engine": "tesseract", "words": []})
    assert not tesseract.looks_like({"result": []})
    assert not tesseract.looks_like({"도서관": [0, 0, 1, 0, 1, 1, 0, 1]})
    with pytest.raises(ResponseFormatError):
        tesseract.parse({"engine": "tesseract", "words": [{"text": "a", "conf": "high"}]})
    with pytest.raises(ResponseFormatError):
        tesseract.parse({"images": []})
