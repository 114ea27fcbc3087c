"""Each rule of the evaluation protocol (README, "Protocol"), on small hand-made images."""
from __future__ import annotations

import unicodedata

import pytest

from adapters.core.schema import ImageResult, Item
from eval.evaluate import EvalOptions, evaluate, evaluate_image
from eval.metrics import Counts, recognition, summary
from eval.text import TextOptions, decompose_jamo, texts_match
from gt.reader import Word


def box(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def gt(*words: tuple) -> list[Word]:
    """Words from (points, text) pairs; ### is don't care; line numbers start at 1."""
    return [Word(points, text, text != "###", line) for line, (points, text) in enumerate(words, start=1)]


def pred(*items: tuple) -> ImageResult:
    return ImageResult.ok(Item(polygon=p, text=t, confidence=c) for p, t, *rest in items for c in (rest or [None]))


def counts(words, result, **options) -> Counts:
    return evaluate_image("img", words, result, EvalOptions(**options)).counts[0]


def test_perfect_prediction_scores_one():
    c = counts(gt((box(0, 0, 10, 5), "서울")), pred((box(0, 0, 10, 5), "서울")))
    s = summary(c)
    assert (c.tp, c.correct) == (1, 1)
    assert s["detection"]["hmean"] == s["end_to_end"]["hmean"] == 1.0
    assert s["recognition"]["cer"] == 0.0


# rule 1 -----------------------------------------------------------------------------------

def test_missing_and_error_images_count_as_no_predictions(caplog):
    words = {"a": gt((box(0, 0, 10, 5), "가")), "b": gt((box(0, 0, 10, 5), "나")),
             "c": gt((box(0, 0, 10, 5), "다"))}
    results = {"a": pred((box(0, 0, 10, 5), "가")), "b": ImageResult.failed("quota"),
               "extra": pred((box(0, 0, 1, 1), "x"))}
    with caplog.at_level("WARNING", logger="bench"):
        ev = evaluate(words, results)
    total = ev.totals()
    assert (total.images, total.gt_care, total.tp, total.missing_predictions, total.errors) == (3, 3, 1, 1, 1)
    assert summary(total)["detection"]["recall"] == pytest.approx(1 / 3)
    assert ev.unknown_predictions == ["extra"]
    assert any("extra" in r.message for r in caplog.records)
    assert {i.stem: i.status for i in ev.images} == {"a": "ok", "b": "error", "c": "missing"}


def test_empty_gt_image_makes_predictions_false_positives_and_is_left_out_of_macro():
    ev = evaluate({"empty": [], "one": gt((box(0, 0, 10, 5), "가"))},
                  {"empty": pred((box(0, 0, 4, 4), "x")), "one": pred((box(0, 0, 10, 5), "가"))})
    total = ev.totals()
    assert (total.pred_care, total.tp, total.images_with_care) == (2, 1, 1)
    assert recognition(total)["accuracy_macro"] == 1.0
    assert summary(total)["detection"]["precision"] == 0.5


# rule 2 -----------------------------------------------------------------------------------

def test_items_without_geometry_are_reported_not_counted():
    result = ImageResult.ok([Item(None, "가"), Item(box(0, 0, 10, 5), "가")])
    c = counts(gt((box(0, 0, 10, 5), "가")), result)
    assert (c.no_geometry, c.pred_care, c.pred_total, c.tp) == (1, 1, 2, 1)


def test_bow_tie_is_read_as_its_convex_hull():
    bow_tie = ((0, 0), (10, 0), (0, 5), (10, 5))  # TL, TR, BL, BR
    ev = evaluate_image("img", gt((bow_tie, "가")), pred((box(0, 0, 10, 5), "가")))
    match = [r for r in ev.rows if r.kind == "match"]
    assert len(match) == 1 and match[0].iou == pytest.approx(1.0)


def test_point_order_and_orientation_do_not_matter():
    clockwise = box(0, 0, 10, 5)
    counter = tuple(reversed(clockwise))
    rotated = clockwise[2:] + clockwise[:2]
    for outline in (counter, rotated):
        assert counts(gt((clockwise, "가")), pred((outline, "가"))).tp == 1


def test_zero_area_prediction_never_matches_and_is_never_discarded():
    line = ((0, 0), (10, 0), (10, 0), (0, 0))
    words = gt((box(0, 0, 10, 5), "가"), (box(20, 0, 30, 5), "###"))
    inside_dont_care = ((21, 1), (22, 1), (22, 1), (21, 1))
    c = counts(words, pred((line, "가"), (inside_dont_care, "x")))
    assert (c.tp, c.pred_discarded, c.pred_care) == (0, 0, 2)


def test_zero_area_gt_never_matches_but_counts_in_recall():
    flat = ((0, 0), (10, 0), (10, 0), (0, 0))
    c = counts(gt((flat, "가")), pred((box(0, 0, 10, 5), "가")))
    assert (c.gt_care, c.tp) == (1, 0)


# rule 3 -----------------------------------------------------------------------------------

def test_prediction_mostly_inside_dont_care_is_discarded():
    words = gt((box(0, 0, 10, 10), "###"), (box(50, 0, 60, 10), "가"))
    c = counts(words, pred((box(0, 0, 10, 8), "x"), (box(50, 0, 60, 10), "가")))
    assert (c.pred_discarded, c.pred_care, c.tp) == (1, 1, 1)
    assert summary(c)["detection"]["precision"] == 1.0


def test_exactly_half_inside_dont_care_is_kept():
    words = gt((box(0, 0, 10, 10), "###"))
    c = counts(words, pred((box(5, 0, 15, 10), "x")))  # half of its area inside
    assert (c.pred_discarded, c.pred_care) == (0, 1)


def test_dont_care_is_judged_per_region_not_summed():
    words = gt((box(0, 0, 10, 10), "###"), (box(10, 0, 20, 10), "###"))
    c = counts(words, pred((box(6, 0, 14, 10), "x")))  # 40 % in each region, 80 % in total
    assert c.pred_discarded == 0


def test_dont_care_gt_is_not_a_target():
    c = counts(gt((box(0, 0, 10, 10), "###")), pred())
    assert (c.gt_care, c.gt_dont_care) == (0, 1)


# rule 4 -----------------------------------------------------------------------------------

def test_iou_must_be_strictly_above_the_threshold():
    words = gt((box(0, 0, 2, 1), "가"))
    result = pred((box(0, 0, 1, 1), "가"))  # IoU exactly 0.5
    assert counts(words, result, thresholds=(0.5,)).tp == 0
    assert counts(words, result, thresholds=(0.49,)).tp == 1


def test_one_to_one_duplicates_are_false_positives():
    words = gt((box(0, 0, 10, 5), "가"))
    c = counts(words, pred((box(0, 0, 10, 5), "가"), (box(0, 0, 10, 5), "가"), (box(0, 0, 10, 5.2), "가")))
    assert (c.tp, c.correct, c.pred_care) == (1, 1, 3)


def test_greedy_takes_the_highest_iou_first():
    # p0 is A's best (IoU 0.67) but B's perfect match (1.0); greedy by IoU gives it to B, and A
    # still gets p1 (0.54). Matching gt by gt in line order would leave B unmatched.
    words = gt((box(0, 0, 10, 10), "A"), (box(2, 0, 12, 10), "B"))
    rows = evaluate_image("img", words, pred((box(2, 0, 12, 10), "B"), (box(-3, 0, 7, 10), "A"))).rows
    pairs = sorted((r.gt_line, r.pred_index) for r in rows if r.kind == "match")
    assert pairs == [(1, 1), (2, 0)]


def test_ties_go_to_the_earlier_gt_then_the_earlier_prediction():
    # two identical gts, one prediction: the first gt line wins
    rows = evaluate_image("img", gt((box(0, 0, 10, 5), "a"), (box(0, 0, 10, 5), "b")),
                          pred((box(0, 0, 10, 5), "b"))).rows
    assert [(r.gt_line, r.pred_index) for r in rows if r.kind == "match"] == [(1, 0)]
    # one gt, two identical predictions: the first prediction wins
    rows = evaluate_image("img", gt((box(0, 0, 10, 5), "a")),
                          pred((box(0, 0, 10, 5), "x"), (box(0, 0, 10, 5), "a"))).rows
    assert [(r.gt_line, r.pred_index) for r in rows if r.kind == "match"] == [(1, 0)]


def test_old_script_mistake_low_iou_is_not_a_match():
    """api_eval_v1 accepted any gt above IoU 0.1; a sliver is not a detection here."""
    c = counts(gt((box(0, 0, 100, 10), "가나다라마바사")), pred((box(0, 0, 20, 10), "가나다라마바사")))
    assert c.tp == 0 and c.correct == 0


def test_sweep_reuses_overlaps_for_every_threshold():
    ev = evaluate_image("img", gt((box(0, 0, 10, 10), "가")), pred((box(0, 0, 10, 7), "가")),
                        EvalOptions(thresholds=(0.5, 0.65, 0.75)))
    assert [c.tp for c in ev.counts] == [1, 1, 0]


# rule 5 -----------------------------------------------------------------------------------

def test_nfd_text_equals_nfc():
    nfd = unicodedata.normalize("NFD", "한글")
    assert nfd != "한글"
    c = counts(gt((box(0, 0, 10, 5), "한글")), pred((box(0, 0, 10, 5), nfd)))
    assert (c.correct, c.edit_distance) == (1, 0)


@pytest.mark.parametrize("gt_text, pred_text, options, expected", [
    ("가자미", "가 자 미", TextOptions(), False),
    ("가자미", "가 자 미", TextOptions(ignore_space=True), True),
    ("Seoul", "SEOUL", TextOptions(), False),
    ("Seoul", "SEOUL", TextOptions(ignore_case=True), True),
    ("1,000원!", "1000원", TextOptions(ignore_punct=True), True),
    ("(Seoul)", "SEOUL", TextOptions(icdar15=True), True),
    ("seoul.", "Seoul", TextOptions(icdar15=True), True),
    ("\"seoul", "SEOUL", TextOptions(icdar15=True), True),
    ("seoul", "seoul.", TextOptions(icdar15=True), False),  # only the gt side is forgiven
    ("..seoul", "SEOUL", TextOptions(icdar15=True), False),  # at most one at each end
    ("·서울·", "서울", TextOptions(icdar15=True), True),
])
def test_text_options(gt_text, pred_text, options, expected):
    assert texts_match(gt_text, pred_text, options) is expected


def test_surrounding_space_is_stripped():
    assert texts_match(" 서울 ", "서울")


# rule 6 -----------------------------------------------------------------------------------

def test_cer_and_jamo_cer_from_summed_counts():
    words = gt((box(0, 0, 10, 5), "가나다"), (box(20, 0, 30, 5), "갔"))
    c = counts(words, pred((box(0, 0, 10, 5), "가나"), (box(20, 0, 30, 5), "갓")))
    assert (c.edit_distance, c.gt_chars) == (2, 4)
    assert recognition(c)["cer"] == 0.5
    # 가나다 = 6 jamo, 갔 = 3 jamo; distances 2 (the whole 다) and 1 (ㅆ -> ㅅ)
    assert (c.jamo_distance, c.gt_jamo) == (3, 9)


def test_decompose_jamo_leaves_other_scripts_alone():
    assert decompose_jamo("한A1") == "\u1112\u1161\u11abA1"
    assert len(decompose_jamo("가")) == 2


def test_micro_and_macro_accuracy_differ_as_defined():
    words = {"a": gt((box(0, 0, 10, 5), "가")),
             "b": gt(*[(box(20 * k, 0, 20 * k + 10, 5), "나") for k in range(4)])}
    results = {"a": pred((box(0, 0, 10, 5), "가")), "b": pred((box(0, 0, 10, 5), "x"))}
    rec = recognition(evaluate(words, results).totals())
    assert rec["accuracy_micro"] == pytest.approx(1 / 5)
    assert rec["accuracy_macro"] == pytest.approx((1 + 0) / 2)


def test_zero_denominators_give_no_value():  # was ..._give_zero (== 0.0) before empty denominators became "–"
    s = summary(Counts())
    assert s["detection"]["precision"] is s["detection"]["hmean"] is None
    assert s["recognition"]["cer"] is s["recognition"]["accuracy_macro"] is None


# rule 7 -----------------------------------------------------------------------------------

def test_min_score_drops_low_confidence_first_and_keeps_unknown_confidence():
    words = gt((box(0, 0, 10, 5), "가"), (box(20, 0, 30, 5), "###"))
    result = pred((box(0, 0, 10, 5), "가", 0.3), (box(0, 0, 10, 5), "가", None), (box(20, 0, 30, 5), "x", 0.2))
    c = counts(words, result, min_score=0.5)
    assert (c.below_min_score, c.pred_discarded, c.pred_care, c.tp) == (2, 0, 1, 1)


def test_match_rows_explain_every_item():
    words = gt((box(0, 0, 10, 5), "가"), (box(20, 0, 30, 5), "나"), (box(40, 0, 50, 5), "###"))
    result = ImageResult.ok([Item(box(0, 0, 10, 5), "가"), Item(box(60, 0, 70, 5), "x"),
                             Item(box(40, 0, 50, 5), "y"), Item(None, "z")])
    kinds = sorted(r.kind for r in evaluate_image("img", words, result).rows)
    assert kinds == ["discarded", "dont_care", "false", "match", "missed", "no_geometry"]


def test_same_shape_listed_from_another_corner_is_a_tie_not_a_float_race():
    """Rule 4: ties go to the earlier prediction even when float noise differs between outlines."""
    import math

    def rotated(cx: float, cy: float, w: float, h: float, angle: float, start: int):
        c, s = math.cos(angle), math.sin(angle)
        corners = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
        pts = [(cx + x * c - y * s, cy + x * s + y * c) for x, y in corners]
        return tuple(pts[start:] + pts[:start])

    later_wins = 0
    for k in range(200):
        angle = 0.1 + k * 0.013
        words = gt((rotated(50.3, 40.7, 30.1, 9.7, angle, 0), "가"))
        result = pred((rotated(51.1, 40.2, 30.1, 9.7, angle, 0), "x"), (rotated(51.1, 40.2, 30.1, 9.7, angle, 2), "y"))
        rows = evaluate_image("img", words, result).rows
        later_wins += [r.pred_index for r in rows if r.kind == "match"] == [1]
    assert later_wins == 0
