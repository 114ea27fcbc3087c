"""`--provider local`: your own model, imported by `--engine MODULE:FACTORY`. The README's example
engine is run exactly as printed there; bad return values, import errors and failing factories."""
from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from adapters.collection.setup import settings_for
from adapters.core.errors import InputError, PermanentError
from adapters.providers import local, registry, tesseract
from adapters.providers.registry import Settings
from adapters.providers.response_fields import ResponseFormatError
from adapters.providers.results import detect_provider, load_results
from collect_support import REPO, bench_env, journal_lines, make_set, render, run_bench

README = REPO / "docs" / "providers.md"
MARKERS = re.compile(r"<!-- local-engine-example -->\s*```python\n(.*?)```\s*<!-- /local-engine-example -->", re.S)
needs_tesseract = pytest.mark.skipif(tesseract.available() is not None,
                                     reason=f"local engine unavailable: {tesseract.available()}")


def readme_example() -> str:
    found = MARKERS.findall(README.read_text(encoding="utf-8"))
    assert len(found) == 1, "docs/providers.md must hold exactly one marked local engine example"
    return found[0]


# ---------------------------------------------------------------- the contract, without processes

def test_engine_spec_and_options_are_checked_with_messages_naming_the_option(tmp_path: Path):
    spec = local.engine_spec(Settings(extra={"engine": "my_engine:make", "engine_path": str(tmp_path),
                                             "engine_option": ["psm=6", "dict=a=b", " lang =kor"]}))
    assert (spec.module, spec.factory, spec.path) == ("my_engine", "make", str(tmp_path.resolve()))
    assert spec.options == (("dict", "a=b"), ("lang", "kor"), ("psm", "6"))
    for settings, message in [
        ({}, "--provider local needs --engine MODULE:FACTORY"),
        ({"engine": "my_engine"}, "--engine 'my_engine': expected MODULE:FACTORY"),
        ({"engine": "my-engine:make"}, "expected MODULE:FACTORY"),
        ({"engine": "pkg.mod:Cls.make", "engine_path": str(tmp_path / "none")}, "--engine-path .*none: no such folder"),
        ({"engine": "m:f", "engine_option": ["psm"]}, "--engine-option 'psm': expected KEY=VALUE"),
        ({"engine": "m:f", "engine_option": ["1x=2"]}, "the key must be a Python identifier"),
        ({"engine": "m:f", "engine_option": ["a=1", "a=2"]}, "--engine-option a is given twice"),
    ]:
        with pytest.raises(InputError, match=message):
            local.engine_spec(Settings(extra=settings))
    assert local.parse_options({"b": 2, "a": "x"}) == (("a", "x"), ("b", "2"))


def test_options_of_local_are_refused_for_other_providers():
    with pytest.raises(InputError, match="--engine applies to local only, not tesseract"):
        settings_for("tesseract", engine="m:f")
    with pytest.raises(InputError, match="--engine-option applies to local only, not rapidocr"):
        settings_for("rapidocr", engine_option=["a=1"])


def test_good_return_values_become_schema_items():
    items = local.checked_items((
        {"polygon": np.array([[1, 2], [30, 2], [30, 20], [1, 20]], dtype=np.int32), "text": "출입구",
         "confidence": np.float32(0.5)},
        {"polygon": None, "text": "EXIT", "confidence": None, "granularity": "line"},
        {"polygon": ((0, 0), (5.5, 0), (5.5, 5)), "text": "", "confidence": 1},
    ))
    assert items == [
        {"polygon": [[1.0, 2.0], [30.0, 2.0], [30.0, 20.0], [1.0, 20.0]], "text": "출입구", "confidence": 0.5,
         "granularity": "word"},
        {"polygon": None, "text": "EXIT", "confidence": None, "granularity": "line"},
        {"polygon": [[0.0, 0.0], [5.5, 0.0], [5.5, 5.0]], "text": "", "confidence": 1.0, "granularity": "word"},
    ]
    assert local.checked_items([]) == []


@pytest.mark.parametrize("returned, message", [
    (None, "the engine returned NoneType, expected a list of"),
    ({"text": "a"}, "the engine returned dict, expected a list of"),
    (["a"], r"items\[0\]: expected a dict, got str"),
    ([{"polygon": None}], r"items\[0\].text: expected a string"),
    ([{"polygon": None, "text": 3}], r"items\[0\].text: expected a string"),
    ([{"polygon": [[0, 0], [1, 0], [1]], "text": "a"}], r"items\[0\].polygon\[2\]: expected an \[x, y\] pair"),
    ([{"polygon": [[0, 0], [1, 0], [1, "y"]], "text": "a"}], r"items\[0\].polygon\[2\]\[1\]: expected a finite number"),
    ([{"polygon": [[0, 0], [1, 0]], "text": "a"}], r"items\[0\].polygon: expected at least 3 \[x, y\] points"),
    ([{"polygon": "0,0,1,1", "text": "a"}], r"items\[0\].polygon: expected a list of \[x, y\] points or null"),
    ([{"polygon": None, "text": "a", "confidence": 1.5}], r"items\[0\].confidence: expected a value in \[0, 1\]"),
    ([{"polygon": None, "text": "a", "confidence": float("nan")}], r"items\[0\].confidence: expected a finite"),
    ([{"polygon": None, "text": "a", "score": 0.5}], r"items\[0\]: unknown field\(s\) \['score'\]"),
    ([{"polygon": None, "text": "a", "granularity": "char"}], r"items\[0\].granularity: expected one of"),
])
def test_bad_return_values_name_the_field(returned, message):
    with pytest.raises(PermanentError, match=message):
        local.checked_items(returned)


def test_stored_answers_parse_and_only_local_claims_them():
    raw = {"engine": "local", "factory": "my_engine:make", "path": "/x", "options": {}, "width": 20, "height": 10,
           "items": local.checked_items([{"polygon": [[0, 0], [9, 0], [9, 9]], "text": "가", "confidence": 0.25}])}
    raw = json.loads(json.dumps(raw))
    result = local.parse(raw)
    assert result.is_ok and (result.width, result.height) == (20, 10) and result.items[0].text == "가"
    assert [spec.name for spec in registry.all_specs() if spec.looks_like(raw)] == ["local"]
    assert detect_provider({"img": raw}, "local.json") == "local"
    with pytest.raises(ResponseFormatError):
        local.parse({**raw, "items": [{"text": 1}]})
    with pytest.raises(ResponseFormatError):
        local.parse({"engine": "local", "items": []})


def test_the_readme_example_is_marked_and_short():
    code = readme_example()
    compile(code, "my_engine.py", "exec")
    assert "def make(" in code and len([line for line in code.splitlines() if line.strip()]) <= 20


# ---------------------------------------------------------------- real runs through bench collect

@pytest.mark.slow
@needs_tesseract
def test_the_readme_example_collects_evaluates_and_matches_the_tesseract_provider(tmp_path: Path):
    images, gt = tmp_path / "images", tmp_path / "gt"
    gt.mkdir()
    words = {"sign_a": "서울", "sign_b": "대한민국", "sign_c": "부산항"}
    for stem, text in words.items():
        x0, y0, x1, y1 = render(images / f"{stem}.png", text, size=(360, 120), font_size=56)
        (gt / f"gt_{stem}.txt").write_text(f"{x0},{y0},{x1},{y0},{x1},{y1},{x0},{y1},{text}\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (work / "my_engine.py").write_text(readme_example(), encoding="utf-8")
    done = run_bench(["collect", "--provider", "local", "--engine", "my_engine:make", "--engine-option", "psm=7",
                      "--images", str(images), "--out", str(tmp_path / "mine"), "--no-progress"],
                     work, bench_env(), timeout=300)  # imported from the current directory
    assert done.returncode == 0, done.stderr
    raw = json.loads((tmp_path / "mine" / "local.json").read_text(encoding="utf-8"))
    assert {(r["factory"], r["path"], json.dumps(r["options"])) for r in raw.values()} == {
        ("my_engine:make", str(work.resolve()), '{"psm": "7"}')}
    scored = run_bench(["eval", "--api_res_json", str(tmp_path / "mine" / "local.json"), "--txt_gt_dir", str(gt),
                        "--out", str(tmp_path / "eval")], tmp_path, bench_env())
    assert scored.returncode == 0, scored.stderr
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["end_to_end"]["correct"] == len(words)

    reference = run_bench(["collect", "--provider", "tesseract", "--psm", "7", "--images", str(images),
                           "--out", str(tmp_path / "tess"), "--no-progress"], tmp_path, bench_env(), timeout=300)
    assert reference.returncode == 0, reference.stderr
    mine, theirs = load_results(tmp_path / "mine" / "local.json"), load_results(tmp_path / "tess" / "tesseract.json")
    for stem, result in theirs.images.items():  # the same engine: the same words at the same places
        assert [(i.text, i.polygon) for i in mine.images[stem].items] == [(i.text, i.polygon) for i in result.items]


SCRIPTED = '''
"""An engine with scripted answers: red images get a bad polygon, blue ones raise."""
import os


def make(log, label="전체"):
    with open(os.path.join(log, f"{os.getpid()}.made"), "a") as handle:
        handle.write("made\\n")

    def read(image):
        color = image.getpixel((0, 0))
        if color == (255, 0, 0):
            return [{"polygon": [[0, 0], [10, 0]], "text": "x", "confidence": 0.5}]
        if color == (0, 0, 255):
            raise ValueError("cannot read a blue image")
        w, h = image.size
        return [{"polygon": [[1, 1], [w - 1, 1], [w - 1, h - 1], [1, h - 1]], "text": label, "confidence": 0.9}]
    return read


def broken(**options):
    raise FileNotFoundError("weights.pt")
'''


@pytest.fixture
def scripted(tmp_path: Path) -> Path:
    engines = tmp_path / "engines"
    engines.mkdir()
    (engines / "scripted_engine.py").write_text(textwrap.dedent(SCRIPTED), encoding="utf-8")
    (engines / "syntax_error.py").write_text("def make(:\n", encoding="utf-8")
    return engines


@pytest.mark.slow
def test_bad_answers_cost_their_image_the_factory_runs_once_per_worker_and_reruns_resume(tmp_path, scripted):
    from PIL import Image

    images, gt, _ = make_set(tmp_path / "set", 3)
    Image.new("RGB", (50, 40), (255, 0, 0)).save(images / "bad_red.png")
    Image.new("RGB", (50, 40), (0, 0, 255)).save(images / "bad_blue.png")
    render(images / "turned.jpg", "가", size=(200, 80), fmt="JPEG", exif_orientation=6)
    log = tmp_path / "log"
    log.mkdir()
    command = ["collect", "--provider", "local", "--engine", "scripted_engine:make", "--engine-path", str(scripted),
               "--engine-option", f"log={log}", "--engine-option", "label=출입구", "--images", str(images),
               "--out", str(tmp_path / "out"), "--concurrency", "2", "--no-progress"]
    done = run_bench(command, tmp_path, bench_env(), timeout=300)
    assert done.returncode == 5, done.stderr  # finished, some images failed
    assert "6 images: 4 collected, 0 reused, 2 failed" in done.stdout
    made = sorted(log.glob("*.made"))
    assert len(made) == 2 and all(path.read_text() == "made\n" for path in made)  # once per worker process

    results = load_results(tmp_path / "out" / "local.normalized.json")
    red, blue = results.images["bad_red"], results.images["bad_blue"]
    assert not red.is_ok and "bad_red.png" in red.error and "items[0].polygon: expected at least 3" in red.error
    assert not blue.is_ok and "bad_blue.png: the engine raised ValueError: cannot read a blue image" in blue.error
    assert [i.text for i in results.images["img_000"].items] == ["출입구"]
    raw = json.loads((tmp_path / "out" / "local.json").read_text(encoding="utf-8"))
    assert raw["turned"]["width"] == 80 and raw["turned"]["height"] == 200  # EXIF orientation applied
    assert raw["img_000"]["options"] == {"label": "출입구", "log": str(log)}

    again = run_bench(command, tmp_path, bench_env(), timeout=300)
    assert again.returncode == 5 and "0 collected, 4 reused, 2 failed" in again.stdout
    assert len(journal_lines(tmp_path / "out" / "local.journal.jsonl")) == 6  # nothing sent twice
    scored = run_bench(["eval", "--api_res_json", str(tmp_path / "out" / "local.json"), "--txt_gt_dir", str(gt)],
                       tmp_path, bench_env())
    assert scored.returncode == 0, scored.stderr


@pytest.mark.slow
@pytest.mark.parametrize("engine, message", [
    ("scripted_engine:broken", "error: local: --engine scripted_engine:broken: broken() raised FileNotFoundError: "
                               "weights.pt"),
    ("scripted_engine:make", "error: local: --engine scripted_engine:make: make() raised TypeError: "),
    ("scripted_engine:missing", "error: local: --engine scripted_engine:missing: scripted_engine ("),
    ("syntax_error:make", "error: local: --engine syntax_error:make: cannot import 'syntax_error' from "),
    ("no_such_module:make", "error: local: --engine no_such_module:make: cannot import 'no_such_module' from "),
])
def test_an_engine_that_cannot_be_made_is_exit_2_before_any_image(tmp_path, scripted, engine, message):
    images, _, _ = make_set(tmp_path / "set", 2)
    out = tmp_path / "out"
    done = run_bench(["collect", "--provider", "local", "--engine", engine, "--engine-path", str(scripted),
                      "--images", str(images), "--out", str(out), "--no-progress"], tmp_path, bench_env(), timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and len(done.stderr.strip().splitlines()) == 1, done.stderr
    journal = out / "local.journal.jsonl"
    assert not journal.exists() or journal.read_text() == ""  # no image was sent


@pytest.mark.slow
def test_missing_engine_option_is_exit_2(tmp_path: Path):
    images, _, _ = make_set(tmp_path / "set", 1)
    done = run_bench(["collect", "--provider", "local", "--images", str(images), "--out", str(tmp_path / "out")],
                     tmp_path, bench_env())
    assert done.returncode == 2 and "--provider local needs --engine MODULE:FACTORY" in done.stderr
