"""RapidOCR (PP-OCR on ONNX Runtime): the real engine on rendered images, end to end through
`bench collect` and `bench eval`, and the pure parsing side."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from adapters.collection.setup import settings_for
from adapters.core.errors import InputError
from adapters.providers import rapidocr, registry
from adapters.providers.registry import Settings
from adapters.providers.response_fields import ResponseFormatError
from adapters.providers.results import detect_provider, load_results
from collect_support import bench_env, run_bench
from conftest import render_text_image

needs_engine = pytest.mark.skipif(rapidocr.available() is not None,
                                  reason=f"RapidOCR unavailable: {rapidocr.available()}")

# Latin letters and digits: what the shipped recognizer reads. One word per line, far apart.
LINES = [("EXIT", 40, 30, 56), ("B2", 360, 30, 56), ("1588", 40, 150, 56), ("SALE50", 300, 150, 56)]

RAW = {"engine": "rapidocr", "version": "1.4.4", "onnxruntime": "1.20.1",
       "models": {"det": {"file": "ch_PP-OCRv4_det_infer.onnx", "sha256": "d2a7"}, "cls": None, "rec": None,
                  "keys": None},
       "text_score": 0.5, "width": 640, "height": 240,
       "lines": [{"box": [[40.0, 45.0], [536.0, 45.0], [536.0, 94.0], [40.0, 94.0]], "text": " OPEN 24 ", "score": 0.94},
                 {"box": [[42, 150], [362, 150], [362, 189], [42, 189]], "text": "Tel", "score": 1.2},
                 {"box": [[0, 0], [1, 0], [1, 1], [0, 1]], "text": "  ", "score": 0.7}]}


# ---------------------------------------------------------------- pure parsing and the spec

def test_parse_gives_line_items_with_quads_and_clipped_scores():
    result = rapidocr.parse(json.loads(json.dumps(RAW)))
    assert result.is_ok and (result.width, result.height) == (640, 240)
    assert [(i.text, i.confidence, i.granularity) for i in result.items] == [("OPEN 24", 0.94, "line"),
                                                                              ("Tel", 1.0, "line")]
    assert result.items[1].polygon == ((42, 150), (362, 150), (362, 189), (42, 189))


def test_only_rapidocr_claims_its_answers_and_malformed_ones_are_refused():
    assert [spec.name for spec in registry.all_specs() if spec.looks_like(RAW)] == ["rapidocr"]
    assert detect_provider({"img": RAW}, "rapidocr.json") == "rapidocr"
    for broken in ({"engine": "rapidocr", "lines": [{"box": [[0, 0]], "text": 3, "score": 1}]},
                   {"engine": "rapidocr", "lines": [{"box": "0,0", "text": "a", "score": 1}]},
                   {"engine": "rapidocr", "lines": [{"box": [[0, 0], [1, 1]], "text": "a", "score": "high"}]},
                   {"lines": []}):
        with pytest.raises(ResponseFormatError):
            rapidocr.parse(broken)


def test_spec_is_a_free_local_engine_with_its_model_options():
    spec = registry.get("rapidocr")
    assert spec.kind == registry.LOCAL and spec.price.usd_per_1000 == 0.0 and spec.price.note
    assert spec.options == ("det_model", "rec_model", "rec_keys") and not spec.demo
    assert spec.concurrency() >= 1 and spec.engine is rapidocr.ENGINE
    assert "reads no Hangul" in spec.option_help["rec_model"]
    with pytest.raises(InputError, match="--rec-model applies to rapidocr only, not tesseract"):
        settings_for("tesseract", rec_model=Path("korean.onnx"))
    assert settings_for("rapidocr", rec_model="k.onnx").get("rec_model") == "k.onnx"


def test_missing_model_files_are_named(tmp_path: Path):
    if rapidocr.available() is not None:
        pytest.skip("rapidocr_onnxruntime is not installed")
    problem = rapidocr.available(Settings(extra={"rec_model": str(tmp_path / "korean.onnx")}))
    assert problem == f"--rec-model {tmp_path / 'korean.onnx'}: no such file"


# ---------------------------------------------------------------- the real engine

@pytest.fixture(scope="module")
def latin_set(tmp_path_factory: pytest.TempPathFactory, nanum_font: Path):
    """Two images of Latin words and digits with word-level gt, and one of Korean words."""
    root = tmp_path_factory.mktemp("rapidocr")
    images, gt = root / "images", root / "gt"
    images.mkdir()
    gt.mkdir()
    for stem, lines in (("latin_a", LINES), ("latin_b", [(t[::-1] if t.isalpha() else t, x, y, s)
                                                         for t, x, y, s in LINES])):
        image, words = render_text_image(nanum_font, (640, 260), lines)
        image.save(images / f"{stem}.png")
        rows = [",".join(str(int(v)) for point in w.quad for v in point) + f",{w.text}" for w in words]
        (gt / f"gt_{stem}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    korean, words = render_text_image(nanum_font, (560, 160), [("출입구", 40, 40, 64), ("도서관", 300, 40, 64)])
    korean.save(root / "korean.png")
    return images, gt, root / "korean.png"


def _png(path: Path) -> bytes:
    return path.read_bytes()


@pytest.mark.slow
@needs_engine
def test_the_shipped_models_read_latin_words_and_digits_where_they_are(latin_set):
    images, _, _ = latin_set
    raw = rapidocr.recognize(_png(images / "latin_a.png"))
    assert json.loads(json.dumps(raw)) == raw  # JSON-able as is
    assert raw["engine"] == "rapidocr" and raw["version"][0].isdigit() and raw["onnxruntime"][0].isdigit()
    assert raw["models"]["rec"]["file"] == "ch_PP-OCRv4_rec_infer.onnx" and len(raw["models"]["rec"]["sha256"]) == 64
    assert (raw["width"], raw["height"]) == (640, 260)
    texts = {line["text"] for line in raw["lines"]}
    assert {"EXIT", "B2", "1588", "SALE50"} <= texts, texts
    for line in raw["lines"]:
        assert len(line["box"]) == 4 and 0.0 <= line["score"] <= 1.0
        assert all(0 <= x <= 640 and 0 <= y <= 260 for x, y in line["box"])


@pytest.mark.slow
@needs_engine
def test_the_shipped_recognizer_reads_no_hangul(latin_set):
    _, _, korean = latin_set
    raw = rapidocr.recognize(_png(korean))
    hangul = [line["text"] for line in raw["lines"] if any("\uac00" <= ch <= "\ud7a3" for ch in line["text"])]
    assert hangul == []  # as the README says: Korean needs --rec-model


@pytest.mark.slow
@needs_engine
def test_exif_orientation_is_applied_and_bad_bytes_are_a_permanent_error(latin_set):
    from adapters.core.errors import PermanentError

    images, _, _ = latin_set
    upright = Image.open(images / "latin_a.png").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    upright.rotate(90, expand=True).save(buffer, "JPEG", quality=95, exif=exif)
    raw = rapidocr.recognize(buffer.getvalue())
    assert (raw["width"], raw["height"]) == upright.size and "EXIT" in {line["text"] for line in raw["lines"]}
    with pytest.raises(PermanentError, match="not an image"):
        rapidocr.recognize(b"not an image")


@pytest.mark.slow
@needs_engine
def test_collect_then_eval_end_to_end(latin_set, tmp_path: Path):
    images, gt, _ = latin_set
    out = tmp_path / "out"
    done = run_bench(["collect", "--provider", "rapidocr", "--images", str(images), "--out", str(out),
                      "--no-progress"], tmp_path, bench_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 collected" in done.stdout
    results = load_results(out / "rapidocr.json")
    assert results.provider == "rapidocr" and all(r.is_ok for r in results.images.values())
    scored = run_bench(["eval", "--api_res_json", str(out / "rapidocr.json"), "--txt_gt_dir", str(gt),
                        "--out", str(tmp_path / "eval")], tmp_path, bench_env())
    assert scored.returncode == 0, scored.stderr
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text(encoding="utf-8"))
    assert summary["provider"] == "rapidocr" and summary["gt_care"] == 8
    assert summary["end_to_end"]["hmean"] >= 0.75, summary  # the shipped models read Latin and digits
    again = run_bench(["collect", "--provider", "rapidocr", "--images", str(images), "--out", str(out),
                       "--no-progress"], tmp_path, bench_env(), timeout=300)
    assert again.returncode == 0 and "0 collected, 2 reused" in again.stdout


@pytest.mark.slow
@needs_engine
def test_other_models_are_taken_and_a_broken_one_stops_before_any_image(latin_set, tmp_path: Path):
    images, _, _ = latin_set
    shipped = rapidocr._shipped_models()
    rec = tmp_path / "models" / "my_rec.onnx"
    rec.parent.mkdir()
    shutil.copy(shipped["rec"], rec)
    out = tmp_path / "own"
    done = run_bench(["collect", "--provider", "rapidocr", "--rec-model", str(rec), "--images", str(images),
                      "--out", str(out), "--concurrency", "1", "--no-progress"], tmp_path, bench_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    raw = json.loads((out / "rapidocr.json").read_text(encoding="utf-8"))["latin_a"]
    assert raw["models"]["rec"]["file"] == "my_rec.onnx"

    broken = tmp_path / "models" / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    out = tmp_path / "broken"
    done = run_bench(["collect", "--provider", "rapidocr", "--rec-model", str(broken), "--images", str(images),
                      "--out", str(out), "--concurrency", "1", "--no-progress"], tmp_path, bench_env(), timeout=300)
    assert done.returncode == 2 and done.stderr.startswith("error: rapidocr: "), done.stderr
    assert "broken.onnx" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (out / "rapidocr.journal.jsonl").exists() or (out / "rapidocr.journal.jsonl").read_text() == ""
    missing = run_bench(["collect", "--provider", "rapidocr", "--det-model", str(tmp_path / "none.onnx"),
                         "--images", str(images), "--out", str(out), "--no-progress"], tmp_path, bench_env())
    assert missing.returncode == 2 and f"--det-model {tmp_path / 'none.onnx'}: no such file" in missing.stderr
