"""Ground-truth reading: the line format, encodings, prefixes and clear errors."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from adapters.core.errors import InputError
from gt.reader import GtFormatError, image_stem, parse_annotation_text, parse_line, read_annotations


def test_text_keeps_commas_after_the_eighth():
    points, text = parse_line("0,0,10,0,10,5,0,5,1,000원")
    assert text == "1,000원"
    assert points == ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))


def test_spaces_decimals_and_negative_coordinates():
    points, text = parse_line(" 1.5, 2 ,-3.25,4, 5,6 ,7,8 ,  서울역  ")
    assert points[0] == (1.5, 2.0) and points[1] == (-3.25, 4.0)
    assert text == "서울역"


@pytest.mark.parametrize("line, fragment", [
    ("1,2,3,4,5,6,7", r"found 7 field\(s\)"),
    ("1,2,3,4,5,6,7,8", "found no text"),
    ("1,2,x,4,5,6,7,8,abc", "coordinate 3 is not a number"),
    ("1,2,nan,4,5,6,7,8,abc", "coordinate 3 is not a number"),
])
def test_malformed_lines_say_what_is_wrong(line, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_line(line)


def test_empty_text_after_the_last_comma_is_a_scored_word_with_no_text():
    words, _ = parse_annotation_text("496,924,508,924,508,940,496,940,\n", "kr_doc.txt")
    assert [(w.text, w.care) for w in words] == [("", True)]


def test_malformed_line_names_file_and_line_number():
    text = "0,0,1,0,1,1,0,1,ok\n\n0,0,1,0,1,broken\n"
    with pytest.raises(GtFormatError, match=r"img\.txt, line 3"):
        parse_annotation_text(text, "img.txt")


def test_skip_bad_lines_collects_them():
    words, bad = parse_annotation_text("0,0,1,0,1,1,0,1,ok\nbad line\n", "img.txt", skip_bad_lines=True)
    assert [w.text for w in words] == ["ok"]
    assert [(b.source, b.line) for b in bad] == [("img.txt", 2)]


def test_dont_care_markers_and_line_numbers():
    text = "0,0,1,0,1,1,0,1,###\n\n0,0,1,0,1,1,0,1,*\n0,0,1,0,1,1,0,1,가\n"
    words, _ = parse_annotation_text(text, "f", dont_care=frozenset({"###", "*"}))
    assert [(w.text, w.care, w.line) for w in words] == [("###", False, 1), ("*", False, 3), ("가", True, 4)]


def test_predictions_mode_allows_missing_text_and_has_no_dont_care():
    words, _ = parse_annotation_text("0,0,1,0,1,1,0,1\n0,0,1,0,1,1,0,1,###\n", "res", dont_care=None)
    assert [(w.text, w.care) for w in words] == [("", True), ("###", True)]


@pytest.mark.parametrize("name, stem", [
    ("gt_img_1.txt", "img_1"), ("res_img_1.txt", "img_1"), ("img_1.txt", "img_1"),
    ("gt_kr_doc_KR03088.txt", "kr_doc_KR03088"), ("gt_.txt", "gt_"), ("dir/gt_a.TXT", "a"),
])
def test_image_stem_drops_one_prefix(name, stem):
    assert image_stem(name) == stem


def test_bom_crlf_blank_lines_and_cp949(tmp_path: Path, caplog):
    (tmp_path / "a.txt").write_bytes("\ufeff0,0,4,0,4,2,0,2,가나\r\n\r\n1,1,5,1,5,3,1,3,다\r\n".encode("utf-8"))
    (tmp_path / "b.txt").write_bytes("0,0,4,0,4,2,0,2,한글\n".encode("cp949"))
    with caplog.at_level("WARNING", logger="bench"):
        ann = read_annotations(tmp_path)
    assert [w.text for w in ann.images["a"]] == ["가나", "다"]
    assert ann.images["a"][0].points[0] == (0.0, 0.0)  # the BOM did not stick to the first number
    assert [w.text for w in ann.images["b"]] == ["한글"]
    assert any("b.txt" in r.message and "CP949" in r.message for r in caplog.records)


def test_empty_file_is_an_image_with_no_words(tmp_path: Path):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    assert read_annotations(tmp_path).images == {"empty": []}


def test_zip_and_folder_give_the_same_annotations(tmp_path: Path):
    folder = tmp_path / "gt"
    folder.mkdir()
    (folder / "gt_x.txt").write_text("0,0,1,0,1,1,0,1,가\n", encoding="utf-8")
    archive = tmp_path / "gt.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(folder / "gt_x.txt", "gt_x.txt")
    assert read_annotations(folder).images == read_annotations(archive).images


def test_duplicate_stems_are_an_error(tmp_path: Path):
    (tmp_path / "gt_a.txt").write_text("", encoding="utf-8")
    (tmp_path / "a.txt").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="two annotation files for image 'a'"):
        read_annotations(tmp_path)


def test_missing_source_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="no such folder"):
        read_annotations(tmp_path / "nope")


def test_upper_case_txt_files_count_in_folders_as_in_zips(tmp_path: Path):
    (tmp_path / "A.TXT").write_text("0,0,1,0,1,1,0,1,가\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("0,0,1,0,1,1,0,1,나\n", encoding="utf-8")
    assert sorted(read_annotations(tmp_path).images) == ["A", "b"]


def test_only_cr_and_lf_end_a_line():
    words, _ = parse_annotation_text("0,0,10,0,10,10,0,10,가\u2028나\x0c다\r\n0,0,1,0,1,1,0,1,라\r", "f.txt")
    assert [(w.text, w.line) for w in words] == [("가\u2028나\x0c다", 1), ("라", 2)]


def test_absurd_coordinates_are_an_error_not_an_overflow():
    with pytest.raises(ValueError, match="coordinate 1 is out of range"):
        parse_line("1" + "0" * 200 + ",0,1,0,1,1,0,1,가")
