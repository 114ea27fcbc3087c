"""Page-level text metrics (eval/page_text.py): reading order, page CER, bag-of-characters/words."""
from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from eval.page_text import (CerCounts, CerVariants, PageTextCounts, cer_variant_metrics, cer_variants,
                            page_text_counts, page_text_metrics, reading_order, texts_in_reading_order)
from eval.text import TextOptions, normalize


def box(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


# ---------------------------------------------------------------------------------------------
# Reading order


def test_lines_top_to_bottom_words_left_to_right() -> None:
    polygons = [box(100, 50, 150, 70), box(0, 0, 50, 20), box(0, 50, 50, 70), box(60, 2, 120, 22)]
    assert reading_order(polygons) == [1, 3, 2, 0]


def test_skewed_line_stays_one_line_while_centres_fall_within_the_first_word() -> None:
    # A line drifting down 4 px per word; each centre stays inside the first word's 0..20 extent
    # until the fourth word, whose centre (22) opens a new line.
    polygons = [box(0, 0, 40, 20), box(50, 4, 90, 24), box(100, 8, 140, 28), box(150, 12, 190, 32)]
    assert reading_order(polygons) == [0, 1, 2, 3]
    polygons.append(box(-50, 50, -10, 70))
    assert reading_order(polygons) == [0, 1, 2, 3, 4]
    drifting = [box(0, 0, 40, 20), box(50, 8, 90, 28), box(100, 16, 140, 36)]
    # centre y 10, 18, 26: the third (26) is outside the first word's 0..20, so it starts line 2.
    assert reading_order(drifting) == [0, 1, 2]
    assert reading_order([drifting[2], drifting[1], drifting[0]]) == [2, 1, 0]


def test_inclusive_extent_and_new_line_measured_from_its_own_first_item() -> None:
    # First word spans y 0..20; a word centred exactly at y 20 joins, one at 20.5 does not.
    assert reading_order([box(100, 10, 140, 30), box(0, 0, 40, 20)]) == [1, 0]
    assert reading_order([box(100, 11, 140, 30), box(0, 0, 40, 20)]) == [1, 0]
    # The second line is then judged by its own first item.
    polygons = [box(0, 0, 40, 20), box(0, 30, 40, 40), box(100, 31, 140, 51)]
    # centres y: 10, 35, 41; line 2 opened by item 1 (30..40): item 2's centre 41 is outside -> line 3.
    assert reading_order(polygons) == [0, 1, 2]
    polygons[2] = box(-100, 31, -60, 49)  # centre 40: inside 30..40 -> joins line 2, and is further left
    assert reading_order(polygons) == [0, 2, 1]


def test_two_columns_are_read_row_by_row() -> None:
    """The rule knows no columns: side-by-side columns at the same heights interleave by line."""
    left = [box(0, 0, 100, 20), box(0, 30, 100, 50)]
    right = [box(200, 0, 300, 20), box(200, 30, 300, 50)]
    assert reading_order(right + left) == [2, 0, 3, 1]
    # Offset columns: the right column's lines sit between the left's, so they alternate by height.
    right_low = [box(200, 22, 300, 28), box(200, 52, 300, 58)]
    assert reading_order(left + right_low) == [0, 2, 1, 3]


def test_ties_keep_the_given_order() -> None:
    same = [box(0, 0, 10, 10)] * 3
    assert reading_order(same) == [0, 1, 2]
    # Different boxes with the same centre: by position, whichever comes first in the list.
    nested = [box(0, 0, 10, 20), box(2, 6, 8, 14), box(4, 2, 6, 18)]
    assert reading_order(nested) == [0, 1, 2]
    assert reading_order(nested[::-1]) == [0, 1, 2]
    # Same centre y, different x: by x; the first by sort order opens the line.
    assert reading_order([box(2, 4, 8, 8), box(0, 0, 10, 20), box(2, 12, 8, 16)]) == [0, 1, 2]


def test_items_without_geometry_follow_in_provider_order() -> None:
    polygons = [None, box(50, 0, 90, 20), [], box(0, 0, 40, 20), None]
    assert reading_order(polygons) == [3, 1, 0, 2, 4]
    assert reading_order([None, None]) == [0, 1]
    assert reading_order([]) == []


def test_polygons_any_shape_use_their_bounding_box() -> None:
    rotated = [(10, 0), (40, 10), (30, 40), (0, 30)]  # bbox 0..40 x 0..40, centre (20, 20)
    flat = np.array([60, 5, 90, 5, 90, 35, 60, 35])
    assert reading_order([flat, rotated]) == [1, 0]


def test_texts_in_reading_order() -> None:
    assert texts_in_reading_order([box(50, 0, 90, 20), box(0, 0, 40, 20), None], ["세계", "안녕", "끝"]) == ["안녕", "세계", "끝"]
    with pytest.raises(ValueError):
        texts_in_reading_order([None], [])


# ---------------------------------------------------------------------------------------------
# Page counts


def test_page_cer_ignores_white_space_and_box_boundaries() -> None:
    counts = page_text_counts(["서울 특별시", "강남구"], ["서울특별", "시 강남구"])
    assert counts.edit_distance == 0 and counts.gt_chars == 8
    m = page_text_metrics(counts)
    assert m["cer"] == 0.0 and m["char_f1"] == 1.0
    # Words are white-space separated tokens: "서울 특별시 강남구" vs "서울특별 시 강남구".
    assert counts.gt_words == 3 and counts.pred_words == 3 and counts.common_words == 1


def test_korean_substitution_and_order() -> None:
    counts = page_text_counts(["교환", "환불"], ["환불", "교환"])
    assert counts.common_chars == 4 and counts.common_words == 2  # order-free: all found
    assert counts.edit_distance == 4  # order-sensitive: "교환환불" -> "환불교환"
    counts = page_text_counts(["갔다"], ["갓다"])
    assert counts.edit_distance == 1 and counts.common_chars == 1


def test_nfd_and_nfc_pages_are_equal() -> None:
    nfc = ["한국어 텍스트", "읽기"]
    nfd = [unicodedata.normalize("NFD", t) for t in nfc]
    assert nfd[0] != nfc[0]
    counts = page_text_counts(nfc, nfd)
    assert counts.edit_distance == 0 and counts.gt_chars == 8 and counts.common_words == 3
    assert page_text_counts(nfd, nfc) == counts


def test_empty_gt_page_and_empty_prediction() -> None:
    nothing_to_read = page_text_counts([], ["광고"])
    assert nothing_to_read.gt_chars == 0 and nothing_to_read.edit_distance == 2
    m = page_text_metrics(nothing_to_read)
    assert m["cer"] is None and m["char_recall"] is None and m["char_precision"] == 0.0 and m["char_f1"] is None
    no_answer = page_text_counts(["출구"], [])
    m = page_text_metrics(no_answer)
    assert m["cer"] == 1.0 and m["char_recall"] == 0.0 and m["char_precision"] is None
    both = page_text_metrics(nothing_to_read + no_answer)
    assert both["cer"] == 2.0 and both["char_precision"] == 0.0 and both["char_recall"] == 0.0
    assert both["char_f1"] == 0.0
    assert page_text_metrics(PageTextCounts())["cer"] is None


def test_insertions_push_cer_over_one() -> None:
    counts = page_text_counts(["가"], ["가나다라마", "바사"])
    assert counts.edit_distance == 6 and page_text_metrics(counts)["cer"] == 6.0
    assert page_text_metrics(counts)["char_precision"] == pytest.approx(1 / 7)


def test_counts_sum_over_images() -> None:
    a = page_text_counts(["abc"], ["abd"])
    b = page_text_counts(["de"], ["de"])
    total = sum([a, b])
    assert total == a + b and total.edit_distance == 1 and total.gt_chars == 5 and total.pages == 2
    m = page_text_metrics(total)
    assert m["cer"] == pytest.approx(1 / 5)
    assert m["page_ned"] == pytest.approx((1 / 3 + 0) / 2)
    assert set(m) >= {"cer", "char_precision", "char_recall", "char_f1", "word_precision", "word_recall", "word_f1",
                      "edit_distance", "gt_chars", "pred_chars", "common_chars", "gt_words", "pred_words",
                      "common_words"}


def test_caller_normalisation_applies_to_both_pages() -> None:
    def loose(text: str) -> str:
        return normalize(text, TextOptions(ignore_case=True, ignore_punct=True))

    strict = page_text_counts(["Hello, World"], ["hello world"])
    relaxed = page_text_counts(["Hello, World"], ["hello world"], normalize_fn=loose)
    assert strict.edit_distance == 3 and relaxed.edit_distance == 0


def test_multiset_not_set() -> None:
    counts = page_text_counts(["가 가 가"], ["가"])
    assert counts.common_chars == 1 and counts.common_words == 1 and counts.gt_words == 3


# ---------------------------------------------------------------------------------------------
# CER variants


def test_cer_variants_tell_error_kinds_apart() -> None:
    v = cer_variants(["Seoul, 서울역", "갔다"], ["seoul 서울 역", "갓다"])
    assert v.no_space == CerCounts(3, 11)  # S/s, the comma, 갔/갓; nothing for "서울 역"
    assert v.casefold == CerCounts(2, 11) and v.no_punct == CerCounts(2, 10)
    assert v.jamo == CerCounts(3, 6 + 2 + 3 + 3 + 3 + 2)  # 서 울 역 갔 다 = 13 jamo; 갔 -> 갓 is one (ㅆ -> ㅅ)
    assert v.spaced == CerCounts(4, 13)  # one more: "서울역" vs "서울 역"
    m = cer_variant_metrics(v)
    assert list(m) == ["cer_no_space", "cer_spaced", "cer_no_punct", "cer_casefold", "cer_jamo"]
    assert m["cer_no_space"] == page_text_metrics(page_text_counts(["Seoul, 서울역", "갔다"],
                                                                   ["seoul 서울 역", "갓다"]))["cer"]


def test_cer_variants_sum_and_empty() -> None:
    a = cer_variants(["가나"], [])
    b = cer_variants([], ["다"])
    total = a + b
    assert total.no_space == CerCounts(3, 2) and total.jamo.length == 4
    assert cer_variant_metrics(CerVariants())["cer_jamo"] is None
    assert sum([a, b]) == total


def test_spaced_variant_collapses_runs_of_white_space() -> None:
    v = cer_variants(["a  b", "", "c"], ["a b c"])
    assert v.spaced == CerCounts(0, 5)
