"""Bad and implausible input ("Trust under faults and bad input", cases 1-6 and 8-10): each is
refused with exit code 2 and one line saying what was given (and, where it can tell, what was
probably meant), before anything is written; nothing is silently left out or scored as if fine.

Tests run as root, where ``chmod 000`` does not stop a read: unreadable folders and files are
simulated by injecting the ``OSError`` where it would come from, and the real ``chmod`` tests are
skipped as root.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from adapters.core.errors import InputError, excerpt
from adapters.core.jsonstream import JsonStream
from adapters.core.schema import ImageResult, Item, ResultSet
from adapters.providers.results import load_results
from bench import app
from eval.text import TextOptions, icdar15_unquote, texts_match
from gt.reader import read_annotations
from reports.overlay import ImageTooLarge, load_image

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "kr_docs_mini"
GT, RES = SAMPLE / "gt", SAMPLE / "res"
BOX = [[0, 0], [10, 0], [10, 5], [0, 5]]
KAKAO_OK = {"result": [{"boxes": BOX, "recognition_words": ["가"]}]}
runner = CliRunner()


def bench(*args: Any):
    return runner.invoke(app, [str(a) for a in args])


def refused(result: Any, *fragments: str) -> str:
    """Exit code 2 and one ``error:`` line (no traceback) containing every fragment."""
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in err, err
    return err


def zip_folder(folder: Path, target: Path, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(target, "w", compression) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return target


def write_json_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- 1. implausible inputs ------------------------------------------------------------------------

@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_predictions_that_are_the_ground_truth_itself_are_refused_before_writing(tmp_path: Path, as_zip: bool):
    gt = zip_folder(GT, tmp_path / "gt.zip") if as_zip else GT
    link = tmp_path / "link"
    link.symlink_to(gt)
    out = tmp_path / "out"
    for given in (gt, link):  # the same folder or zip, however it is spelled
        refused(bench("eval", "--api_res_json", given, "--txt_gt_dir", gt, "--out", out),
                f"--api_res_json {given} is the ground truth itself", "OUT/<provider>.json")
    assert not out.exists()


def test_a_folder_of_gt_files_is_refused_but_an_oracle_copy_scores_100(tmp_path: Path):
    copied = shutil.copytree(GT, tmp_path / "copy")
    refused(bench("eval", "--api_res_json", copied, "--txt_gt_dir", GT), "every file in it is named gt_<stem>.txt",
            f"did you mean --txt_gt_dir {copied}?")
    oracle = tmp_path / "oracle"
    oracle.mkdir()
    for path in GT.iterdir():
        shutil.copy(path, oracle / path.name.replace("gt_", "res_", 1))
    result = bench("eval", "--api_res_json", oracle, "--txt_gt_dir", GT, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["detection"]["hmean"] == 1.0 and summary["end_to_end"]["hmean"] == 1.0


def test_a_collect_output_folder_names_the_results_file_inside(tmp_path: Path):
    out = tmp_path / "collected"
    out.mkdir()
    (out / "kakao.journal.jsonl").write_text("{}\n", encoding="utf-8")
    (out / "kakao.json").write_text(json.dumps({"kr_doc_KR03088": KAKAO_OK}), encoding="utf-8")
    (out / "kakao.runs.csv").write_text("image,status\n", encoding="utf-8")
    refused(bench("eval", "--api_res_json", out, "--txt_gt_dir", GT),
            "is a bench collect output folder", f"did you mean --api_res_json {out / 'kakao.json'}?")
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (8, 8)).save(images / "kr_doc_KR03088.png")
    refused(bench("show", "--images", images, "--out", tmp_path / "o", "--api_res_json", out),
            f"did you mean --api_res_json {out / 'kakao.json'}?")
    journal_only = tmp_path / "interrupted"
    journal_only.mkdir()
    (journal_only / "naver.journal.jsonl").write_text("", encoding="utf-8")
    refused(bench("eval", "--api_res_json", journal_only, "--txt_gt_dir", GT), f"{journal_only / 'naver.json'}")


def test_report_refuses_a_collect_folder_without_the_option_name(tmp_path: Path):
    out = tmp_path / "collected"
    out.mkdir()
    (out / "kakao.json").write_text(json.dumps({"kr_doc_KR03088": KAKAO_OK}), encoding="utf-8")
    err = refused(bench("report", out, "--txt_gt_dir", GT, "--out", tmp_path / "report"),
                  f"did you mean {out / 'kakao.json'}?")
    assert "--api_res_json" not in err and not (tmp_path / "report").exists()


def test_an_icdar_folder_or_zip_without_a_result_file_is_refused(tmp_path: Path):
    empty = tmp_path / "res"
    empty.mkdir()
    (empty / "README.md").write_text("results go here", encoding="utf-8")
    refused(bench("eval", "--api_res_json", empty, "--txt_gt_dir", GT), "predictions folder with no result file")
    archive = tmp_path / "res.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("README.md", "nothing")
    refused(bench("eval", "--api_res_json", archive, "--txt_gt_dir", GT), "predictions zip with no result file")


def test_predictions_for_other_images_show_keys_of_both_sides(tmp_path: Path):
    path = write_json_text(tmp_path / "kakao.json", json.dumps({f"photo_{k}": KAKAO_OK for k in range(5)}))
    out = tmp_path / "out"
    err = refused(bench("eval", "--api_res_json", path, "--txt_gt_dir", GT, "--out", out),
                  "none of its 5 image keys is one of the 10 ground-truth images",
                  "'photo_0', 'photo_1', 'photo_2', ...", "'kr_doc_KR03088'")
    assert not out.exists(), err
    refused(bench("report", path, "--txt_gt_dir", GT, "--out", out), "none of its 5 image keys")
    assert not out.exists()


def test_an_empty_results_file_still_means_every_image_missing(tmp_path: Path):
    path = write_json_text(tmp_path / "kakao.json", "{}")
    result = bench("eval", "--api_res_json", path, "--txt_gt_dir", GT)
    assert result.exit_code == 0, result.output


# --- 2. unreadable input ----------------------------------------------------------------------------

def gt_with_subfolder(root: Path) -> tuple[Path, Path]:
    gt = shutil.copytree(GT, root / "gt")
    sub = gt / "more"
    sub.mkdir()
    shutil.copy(GT / "gt_kr_doc_KR03088.txt", sub / "gt_extra.txt")
    return gt, sub


def test_an_unreadable_gt_subfolder_is_an_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    gt, sub = gt_with_subfolder(tmp_path)
    real = os.scandir

    def scandir(path: Any = "."):
        if Path(path) == sub:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    refused(bench("eval", "--api_res_json", RES, "--txt_gt_dir", gt), f"{sub}: cannot read (Permission denied)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode; "
                                               "test_an_unreadable_gt_subfolder_is_an_error_naming_it injects the error")
def test_a_chmod_000_gt_subfolder_is_an_error_naming_it(tmp_path: Path):
    gt, sub = gt_with_subfolder(tmp_path)
    sub.chmod(0)
    try:
        refused(bench("eval", "--api_res_json", RES, "--txt_gt_dir", gt), f"{sub}: cannot read")
    finally:
        sub.chmod(0o755)


def test_an_unreadable_gt_file_or_a_broken_link_is_an_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    gt = shutil.copytree(GT, tmp_path / "gt")
    bad = gt / "gt_kr_doc_KR03088.txt"
    real, real_open = Path.read_bytes, os.open

    def read_bytes(self: Path) -> bytes:
        if self == bad:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self)

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:  # how the gt reader opens a regular file
        if Path(path) == bad:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "read_bytes", read_bytes)
        patch.setattr(os, "open", os_open)
        refused(bench("eval", "--api_res_json", RES, "--txt_gt_dir", gt), f"{bad}: cannot read (Permission denied)")
    dangling = gt / "gt_gone.txt"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    refused(bench("eval", "--api_res_json", RES, "--txt_gt_dir", gt), f"{dangling}: cannot read")


def test_an_unreadable_results_file_is_an_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import adapters.providers.results as results

    path = write_json_text(tmp_path / "kakao.json", json.dumps({"kr_doc_KR03088": KAKAO_OK}))

    def no_access(*args: Any, **kwargs: Any):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(results, "open", no_access, raising=False)
    monkeypatch.setattr(zipfile, "is_zipfile", lambda _: False)
    refused(bench("eval", "--api_res_json", path, "--txt_gt_dir", GT), f"{path}: cannot read (Permission denied)")


# --- 3. duplicate keys ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, key", [
    ('{"kr_doc_KR03088": %s, "kr_doc_KR03088": %s}' % (json.dumps(KAKAO_OK), json.dumps(KAKAO_OK)), "kr_doc_KR03088"),
    ('{"kr_doc_KR03088": {"result": [], "result": []}}', "result"),
    ('{"schema": "korean-ocr-bench/results", "version": 1, "provider": "x", "images": '
     '{"kr_doc_KR03088": {"status": "ok", "items": []}, "kr_doc_KR03088": {"status": "ok", "items": []}}}',
     "kr_doc_KR03088"),
    ('{"images": {}, "schema": "korean-ocr-bench/results", "version": 1, "provider": "x", "images": {}}', "images"),
], ids=["image", "inside a response", "schema image", "read whole"])
def test_a_duplicate_key_is_refused_naming_it(tmp_path: Path, text: str, key: str):
    path = write_json_text(tmp_path / "r.json", text)
    refused(bench("eval", "--api_res_json", path, "--txt_gt_dir", GT), f"duplicate key '{key}'")


# --- 4. parser errors that were exit code 1 -----------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ('{"kr_doc_KR03088": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"kr_doc_KR03088": {"result": [{"boxes": [[' + "7" * 5000 + ', 0]]}]}}', "more than 4,300 digits"),
], ids=["deep response", "deep top level", "long integer"])
def test_results_parser_limits_are_input_errors(tmp_path: Path, text: str, message: str):
    path = write_json_text(tmp_path / "r.json", text)
    err = refused(bench("eval", "--api_res_json", path, "--txt_gt_dir", GT), str(path), message)
    assert len(err) < 400


@pytest.mark.parametrize("tail, message", [
    (b'"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    (b'"x": ' + b"9" * 5000 + b"}", "more than 4,300 digits"),
], ids=["deep", "long integer"])
def test_aihub_parser_limits_are_input_errors(tmp_path: Path, tail: bytes, message: str):
    from test_aihub import awkward_list, awkward_set

    aihub = awkward_set(tmp_path / "aihub")
    path = aihub / "textinthewild_data_info.json"
    path.write_bytes(path.read_bytes().rstrip()[:-1] + b", " + tail)
    err = refused(bench("gt", "aihub", "--aihub", aihub, "--list", awkward_list(tmp_path / "l.txt"),
                        "--out", tmp_path / "out", "--no-progress"), str(path), message)
    assert len(err) < 400 and not (tmp_path / "out" / "gt").exists()


def damage_crc(archive: Path) -> Path:
    """Flip one byte of the first member's data (stored, so the zip still opens)."""
    with zipfile.ZipFile(archive) as handle:
        info = handle.infolist()[0]
    data = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start] ^= 0x01
    archive.write_bytes(bytes(data))
    return archive


def encrypt_flag(archive: Path) -> Path:
    """Set the 'encrypted' flag of every member, as a zip made with a password has."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as handle:
        infos = handle.infolist()
        end = data.rindex(b"PK\x05\x06")
        central = int.from_bytes(data[end + 16:end + 20], "little")
    for info in infos:
        data[info.header_offset + 6] |= 0x01
    pos = central
    while data[pos:pos + 4] == b"PK\x01\x02":
        data[pos + 8] |= 0x01
        pos += 46 + sum(int.from_bytes(data[pos + k:pos + k + 2], "little") for k in (28, 30, 32))
    archive.write_bytes(bytes(data))
    return archive


@pytest.mark.parametrize("damage, message", [(damage_crc, "the zip is damaged (Bad CRC-32"),
                                             (encrypt_flag, "encrypted (the zip has a password)")],
                         ids=["bad crc", "password"])
def test_damaged_or_encrypted_zips_are_input_errors(tmp_path: Path, damage: Any, message: str):
    gt_zip = damage(zip_folder(GT, tmp_path / "gt.zip", zipfile.ZIP_STORED))
    refused(bench("eval", "--api_res_json", RES, "--txt_gt_dir", gt_zip), f"{gt_zip}:gt_kr_doc_KR03088.txt", message)
    res_zip = damage(zip_folder(RES, tmp_path / "res.zip", zipfile.ZIP_STORED))
    refused(bench("eval", "--api_res_json", res_zip, "--txt_gt_dir", GT), f"{res_zip}:kr_doc_KR03088.txt", message)


# --- 5. resource bounds ----------------------------------------------------------------------------------

def test_a_zip_member_that_inflates_implausibly_is_refused_before_unpacking(tmp_path: Path):
    line = b"10,10,90,10,90,40,10,40,word\n"
    bomb = tmp_path / "gt.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("gt_a.txt", line * (32_000_000 // len(line)))  # 32 MB of one repeated line
    assert bomb.stat().st_size < 200_000
    refused(bench("eval", "--api_res_json", RES, "--txt_gt_dir", bomb), f"{bomb}:gt_a.txt: unpacks",
            "more than 100 times", "zip bomb")
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for k in range(40):  # each member under the per-member floor, together 40 MB from a few hundred KB
            archive.writestr(f"gt_{k}.txt", line * (1_000_000 // len(line)))
    refused(bench("eval", "--api_res_json", RES, "--txt_gt_dir", many), f"{many}: its .txt files unpack",
            "zip bomb")


def test_a_zip_member_over_64_mb_is_refused(tmp_path: Path):
    from gt.reader import MAX_MEMBER_BYTES, check_zip_sizes

    info = zipfile.ZipInfo("gt_a.txt")
    info.file_size, info.compress_size = MAX_MEMBER_BYTES + 1, MAX_MEMBER_BYTES  # not compressible, still too big
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"x" * 100)
    with pytest.raises(InputError, match="unpacks to 67,108,865 bytes"):
        check_zip_sizes(archive, [info])


def test_reading_a_results_file_takes_under_4x_its_size(tmp_path: Path):
    items = [{"polygon": [[x, 1.5], [x + 20.25, 1.5], [x + 20.25, 30.75], [x, 30.75]], "text": "출입구",
              "confidence": 0.91, "granularity": "word"} for x in range(40)]
    images = {f"img_{k:05d}": {"status": "ok", "width": 800, "height": 600, "items": items} for k in range(250)}
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": "korean-ocr-bench/results", "version": 1, "provider": "naver",
                                "images": images}, ensure_ascii=False, indent=1), encoding="utf-8")
    del images, items
    size = path.stat().st_size
    tracemalloc.start()
    try:
        results = load_results(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(results.images) == 250 and size > 2_500_000
    assert peak < 4 * size, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


def test_an_image_with_too_many_pixels_is_refused_from_its_header(tmp_path: Path, korean_images):
    huge = tmp_path / "images" / "huge.png"
    huge.parent.mkdir()
    Image.new("1", (19_000, 10_000), 1).save(huge)
    assert huge.stat().st_size < 100_000
    with pytest.raises(ImageTooLarge, match="19,000 x 10,000 pixels"):
        load_image(huge)
    preds = tmp_path / "preds.json"
    ResultSet("naver", {"huge": ImageResult.ok([Item(((0, 0), (9, 0), (9, 9), (0, 9)), "x")])}).save(preds)
    refused(bench("show", "--images", huge.parent, "--api_res_json", preds, "--out", tmp_path / "out",
                  "--no-progress"), f"{huge}: cannot read the image (19,000 x 10,000 pixels")


# --- 6. quoting input ------------------------------------------------------------------------------------

def test_excerpt_cuts_long_values_and_names_their_length():
    assert excerpt("abc") == "'abc'"
    long = "9" * 50_000_000
    shown = excerpt(long)
    assert len(shown) < 240 and shown.endswith("... (50,000,000 characters)")
    assert excerpt(10 ** 4000) == "an integer of about 4,001 digits"
    assert len(excerpt(list(range(100_000)))) <= 203


def test_a_50_mb_number_is_not_echoed_whole(tmp_path: Path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "a.txt").write_text("1" * 50_000_000 + ",0,1,0,1,1,0,1,word\n", encoding="utf-8")
    err = refused(bench("eval", "--api_res_json", RES, "--txt_gt_dir", gt), "coordinate 1 is out of range",
                  "(50,000,000 characters)")
    assert len(err) < 600


def test_huge_values_in_results_are_not_echoed_whole(tmp_path: Path):
    schema = {"schema": "korean-ocr-bench/results", "version": 1, "provider": "x",
              "images": {"kr_doc_KR03088": {"status": "ok", "items": [{"polygon": None, "text": "a",
                                                                        "confidence": "7" * 1_000_000}]}}}
    err = refused(bench("eval", "--api_res_json", write_json_text(tmp_path / "s.json", json.dumps(schema)),
                        "--txt_gt_dir", GT), "confidence: expected a finite number", "(1,000,000 characters)")
    assert len(err) < 600
    raw = {"kr_doc_KR03088": {"result": [{"boxes": [[0, 0], [1, 0], [1, 1], "x" * 1_000_000],
                                          "recognition_words": ["가"]}]}, "kr_doc_KR03118": KAKAO_OK}
    out = tmp_path / "out"
    result = bench("eval", "--api_res_json", write_json_text(tmp_path / "kakao.json", json.dumps(raw)),
                   "--txt_gt_dir", GT, "--out", out)
    assert result.exit_code == 0, result.output
    assert len(result.stderr) < 2000 and (out / "per_image.csv").stat().st_size < 20_000


# --- 8. AI-Hub coordinates bench eval would refuse --------------------------------------------------------

def test_aihub_words_beyond_the_coordinate_range_are_reported_and_never_written(tmp_path: Path):
    from test_aihub import Annotations, image, tiny_jpeg, write_json

    ann = Annotations()
    ann.word("1", [10, 10, 60, 30], "가나")
    ann.word("1", [1e300, 10, 60, 30], "멀리")
    ann.add("1", "ignored", [10, 1e12, 5, 5], None)
    aihub = tmp_path / "aihub"
    write_json(aihub / "textinthewild_data_info.json", [image("1", "A.jpg", "sign")], ann.records)
    tiny_jpeg(aihub / "Signboard" / "A.jpg")
    out = tmp_path / "out"
    result = bench("gt", "aihub", "--aihub", aihub, "--all", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "2 words or regions with a coordinate beyond 10^9" in result.stdout
    assert (out / "gt" / "A.txt").read_text(encoding="utf-8") == "10,10,70,10,70,40,10,40,가나\n"
    preds = write_json_text(tmp_path / "kakao.json", json.dumps({"A": KAKAO_OK}))
    assert bench("eval", "--api_res_json", preds, "--txt_gt_dir", out / "gt").exit_code == 0


# --- 9. --icdar15 removes "..." quoting, as the official reader --------------------------------------------

def test_icdar15_removes_quotes_like_the_official_reader():
    assert icdar15_unquote('"abc"') == "abc"
    assert icdar15_unquote(' "a\\"b\\\\c" ') == 'a"b\\c'
    assert icdar15_unquote('a"b"') == 'a"b"' and icdar15_unquote('"') == '"'
    icdar = TextOptions(icdar15=True)
    assert texts_match('"출구"', "출구", icdar) and texts_match("출구", '"출구"', icdar)
    assert not texts_match('"출구"', "출구")  # only in that mode


def test_icdar15_quotes_in_gt_and_predictions_files(tmp_path: Path):
    gt, res = tmp_path / "gt", tmp_path / "res"
    gt.mkdir()
    res.mkdir()
    (gt / "gt_a.txt").write_text('0,0,10,0,10,10,0,10,"EXIT"\n20,0,30,0,30,10,20,10,SHOP\n'
                                 '50,0,60,0,60,10,50,10,"###"\n', encoding="utf-8")
    (res / "res_a.txt").write_text('0,0,10,0,10,10,0,10,exit\n20,0,30,0,30,10,20,10,"shop"\n'
                                   '50,0,60,0,60,10,50,10,junk\n', encoding="utf-8")
    for flag, hmean, dont_care in (("--icdar15", 1.0, 1), ("--ignore-case", 0.0, 0)):
        out = tmp_path / flag
        assert bench("eval", "--api_res_json", res, "--txt_gt_dir", gt, flag, "--out", out).exit_code == 0
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["end_to_end"]["hmean"] == hmean and summary["gt_dont_care"] == dont_care


def test_a_quoted_marker_is_dont_care_only_with_unquote(tmp_path: Path):
    (tmp_path / "a.txt").write_text('0,0,1,0,1,1,0,1,"###"\n', encoding="utf-8")
    assert read_annotations(tmp_path).images["a"][0].care
    assert not read_annotations(tmp_path, unquote=True).images["a"][0].care


# --- 10. the README says what happens --------------------------------------------------------------------

def test_readme_documents_empty_gt_texts_and_how_bad_input_is_handled():
    def text(name: str) -> str:
        return " ".join((REPO / "docs" / name).read_text(encoding="utf-8").split())  # line breaks do not matter

    protocol = text("protocol.md")
    assert "no prediction can read it correctly" not in protocol
    assert "an empty prediction on an empty gt word counts as correct" in protocol
    assert "crashes on an empty gt text" in protocol
    section = text("behaviour.md")
    for phrase in ("is the ground truth itself", "`bench collect` output folder", "duplicate key", "nested too deeply",
                   "4,300 digits", "zip bomb", "cannot be read", "temporary file", "10^9", "quoting"):
        assert phrase in section, phrase


def test_stream_reports_a_deep_value_at_its_start():
    import io

    stream = JsonStream(io.BytesIO(b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"), "doc.json")
    with pytest.raises(InputError, match=r"doc\.json: invalid JSON at byte 7: nested too deeply"):
        stream.walk({"a": lambda *args: None})


def test_unreadable_image_folders_and_aihub_inputs_are_errors_naming_them(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch):
    from adapters.core.images import discover
    from test_aihub import awkward_list, awkward_set

    images = tmp_path / "images"
    (images / "more").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(images / "a.png")
    aihub = awkward_set(tmp_path / "aihub")
    hidden = {images / "more", aihub / "Goods"}
    real = os.scandir

    def scandir(path: Any = "."):
        if Path(path) in hidden:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError, match=f"{images / 'more'}: cannot read"):
        discover(images)  # bench show --images, bench report --images
    refused(bench("gt", "aihub", "--aihub", aihub, "--list", awkward_list(tmp_path / "l.txt"), "--out",
                  tmp_path / "out", "--no-progress"), f"{aihub / 'Goods'}: cannot read (Permission denied)")
