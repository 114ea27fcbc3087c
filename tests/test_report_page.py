"""The report page's presentation, without building a report: the verdict sentences, the run
labels, the headline table's columns, plot fonts, label fitting on overlays and the hover layer."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

import eval.metrics as table
from eval.metrics import END_TO_END, METRICS, Metric, metrics, ratio
from reports import plots
from reports.compare import Comparison, disambiguate
from reports.html import comparison_html, headline_html, headline_metrics, hover_layer
from reports.labels import shown_label, shown_labels
from reports.overlay import FALSE, MATCH, MISSED, Mark, Overlay, draw_overlay, fit_labels, render
from reports.verdict import DataSet, verdict

SET = DataSet(images=12, words=251, dont_care=87, categories=("Goods", "Signboard", "book"))


def row(provider: str, e2e: float | None, ci: tuple[float, float] | None = None, *, cer: float = 0.1,
        p50: float | None = None, krw: float | None = None, usd: float | None = None, errors: int = 0,
        missing: int = 0) -> dict:
    """A comparison row with the columns the verdict reads."""
    low, high = ci if ci is not None else (None, None)
    return {"provider": provider, "images": 12, "errors": errors, "missing_predictions": missing,
            "e2e_hmean": e2e, "e2e_hmean_ci_low": low, "e2e_hmean_ci_high": high,
            "rec_cer": cer, "rec_cer_ci_low": None, "rec_cer_ci_high": None,
            "latency_p50_ms": p50, "latency_p95_ms": None if p50 is None else 2 * p50,
            "cost_krw_per_1000": krw, "cost_usd_per_1000": usd}


# --- the verdict --------------------------------------------------------------------------------

def test_the_headline_flags_pick_the_e2e_hmean_of_each_protocol_and_the_cers():
    assert [m.name for m in metrics() if m.headline] == ["e2e_hmean", "rec_cer", "cleval_e2e_hmean", "page_cer"]


def test_verdict_leader_ahead_when_intervals_do_not_overlap():
    rows = [row("naver", 0.62, (0.58, 0.66), p50=900, krw=3000), row("kakao", 0.48, (0.44, 0.52), p50=450, krw=1500)]
    first, second, third = verdict(rows, SET)
    assert first.startswith("naver leads on end-to-end quality with e2e H 62.0\u00a0% (interval 58.0–66.0)")
    assert "ahead of the runner-up kakao at 48.0\u00a0% (interval 44.0–52.0): the intervals do not overlap" in first
    assert second == "Cheapest: kakao at 1,500 KRW per 1,000 images; fastest: kakao, median 450 ms per image."
    assert third == "The set: 12 images, 251 gt words (+87 don't care), 3 categories (Goods, Signboard, book)."


def test_verdict_tied_within_the_intervals_names_every_provider_it_overlaps():
    rows = [row("a", 0.60, (0.55, 0.65)), row("b", 0.58, (0.52, 0.62)), row("c", 0.57, (0.50, 0.61)),
            row("d", 0.30, (0.25, 0.35))]
    first = verdict(rows, SET)[0]
    assert first.startswith("a leads on end-to-end quality")
    assert first.endswith("but is tied within the intervals with b and c.")
    two = verdict(rows[:2], SET)[0]
    assert two.endswith("tied within the intervals with b at 58.0\u00a0% (interval 52.0–62.0).")


def test_verdict_exact_tie_and_no_intervals():
    tie = verdict([row("a", 0.5, (0.4, 0.6)), row("b", 0.5, (0.45, 0.55))], SET)[0]
    assert tie == "a and b tie on e2e H at 50.0\u00a0%: no provider leads on end-to-end quality."
    no_ci = verdict([row("a", 0.6), row("b", 0.5)], SET)[0]
    assert "a leads" in no_ci and "no intervals were computed (--bootstrap 0)" in no_ci


def test_verdict_of_one_provider():
    sentences = verdict([row("tesseract", 0.287, (0.243, 0.346), p50=928.2, krw=0.0, usd=0.0)],
                        DataSet(images=1, words=1))
    assert sentences == [
        "tesseract scores e2e H 28.7\u00a0% (interval 24.3–34.6); it is the only provider, so there is nothing "
        "to rank.",
        "It costs 0 KRW per 1,000 images; its median latency is 928 ms.",
        "The set: 1 image, 1 gt word."]


def test_verdict_unknown_prices_are_said_and_never_ranked():
    rows = [row("naver", 0.6, p50=500), row("kakao", 0.5, p50=400), row("jenti", 0.4, p50=300, krw=0.0, usd=0.0)]
    assert verdict(rows, SET)[1] == ("Only jenti's price is known: 0 KRW per 1,000 images (price unknown for naver "
                                     "and kakao); fastest: jenti, median 300 ms per image.")
    rows = [row("naver", 0.6), row("kakao", 0.5)]
    assert verdict(rows, SET)[1].startswith("No provider's price is known")
    rows = [row("a", 0.6, krw=100.0), row("b", 0.5, usd=1.0), row("c", 0.4)]
    assert verdict(rows, SET)[1].startswith("The known prices are in different currencies, so no cheapest is named "
                                            "(price unknown for c)")
    rows = [row("a", 0.6, krw=100.0), row("b", 0.5, krw=100.0), row("c", 0.4, krw=300.0)]
    assert verdict(rows, SET)[1].startswith("Cheapest: a and b (tied) at 100 KRW per 1,000 images")
    rows = [row("a", 0.6, krw=0.0), row("b", 0.5, krw=0.0)]
    assert verdict(rows, SET)[1].startswith("a and b cost the same, 0 KRW per 1,000 images")


def test_verdict_without_latency():
    rows = [row("a", 0.6, krw=1.0), row("b", 0.5, krw=2.0)]
    assert verdict(rows, SET)[1] == ("Cheapest: a at 1 KRW per 1,000 images; no latency records were found, so there "
                                     "is no fastest.")
    rows = [row("a", 0.6, p50=700), row("b", 0.5), row("c", 0.4, p50=700)]
    assert verdict(rows, SET)[1].endswith("fastest: a and c (tied), median 700 ms per image; no latency records for b.")
    assert verdict([row("a", 0.6, p50=700), row("b", 0.5)], SET)[1].endswith(
        "only a has latency records (median 700 ms); no latency records for b.")


def test_verdict_reports_failed_images_and_names_rows_through_label():
    rows = [row("tesseract [psm6]", 0.6, errors=2), row("b", 0.5, missing=1)]
    sentences = verdict(rows, SET, label=lambda r: r["provider"].upper())
    assert sentences[0].startswith("TESSERACT [PSM6] leads")
    assert sentences[-1] == ("TESSERACT [PSM6] failed on 2 images; B had no result for 1 image: such images count as "
                             "empty pages (every gt word missed).")
    assert verdict([], DataSet(0, 0)) == ["No provider was scored.", "The set: 0 images, 0 gt words."]


def test_verdict_names_another_protocols_leader_when_it_differs(monkeypatch):
    other = Metric(END_TO_END, "other_hmean", "CLEval e2e H", lambda c: ratio(c["correct"], c["gt_care"]),
                   headline=True)
    monkeypatch.setattr(table, "METRICS", METRICS + (other,))
    rows = [row("a", 0.6, (0.55, 0.65)) | {"e2e_other_hmean": 0.70},
            row("b", 0.5, (0.45, 0.55)) | {"e2e_other_hmean": 0.72}]
    sentences = verdict(rows, SET)
    assert sentences[0].startswith("a leads on end-to-end quality with e2e H")
    assert sentences[1].startswith("On CLEval e2e H the order differs: b leads on end-to-end quality with CLEval e2e H "
                                   "72.0\u00a0%")
    same = [rows[0] | {"e2e_other_hmean": 0.8}, rows[1]]
    assert not any("order differs" in s for s in verdict(same, SET))  # the same leader: nothing more to say
    missing = [row("a", 0.6), row("b", 0.5)]  # the family was not computed: no sentence, no error
    assert not any("CLEval" in s for s in verdict(missing, SET))


# --- run labels ---------------------------------------------------------------------------------

def test_a_run_label_that_names_its_provider_is_shown_once():
    labels = disambiguate(["tesseract", "tesseract"],
                          [Path("runs/tesseract-psm11/tesseract.json"), Path("runs/tesseract-psm6/tesseract.json")])
    assert labels == ["tesseract [tesseract-psm11]", "tesseract [tesseract-psm6]"]  # the CSV files keep these
    assert shown_labels(["tesseract"] * 2, labels) == ["tesseract-psm11", "tesseract-psm6"]
    assert shown_label("tesseract", "tesseract [psm6]") == "tesseract [psm6]"  # the tail alone would not say which
    assert shown_label("naver", "naver") == "naver"
    assert shown_label("Kakao", "Kakao [kakao_2024.json]") == "kakao_2024.json"  # case-insensitive
    assert shown_label("kakao", "kakao #2") == "kakao #2"


def test_shown_labels_never_collide():
    # "naver [kakao-naver]" would show as "kakao-naver": another run already has that label
    assert shown_labels(["naver", "naver", "kakao-naver"], ["naver [kakao-naver]", "naver [x]", "kakao-naver"]) == [
        "naver [kakao-naver]", "naver [x]", "kakao-naver"]


# --- the headline table -----------------------------------------------------------------------

def comparison(*rows: dict) -> Comparison:
    full = []
    for r in rows:
        values = {f"{m.name}{tail}": r.get(f"{m.name}{tail}", 0.5)
                  for m in metrics() for tail in ("", "_ci_low", "_ci_high")}
        full.append({"images": 12, "missing_predictions": 0, "errors": 0, **values, **r})
    return Comparison(full)


def cells(html: str, tag: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", html)]


def test_headline_table_columns_come_from_the_metric_table(monkeypatch):
    c = comparison(row("naver", 0.62, (0.58, 0.66), cer=0.08, p50=900, krw=3000.0),
                   row("kakao", 0.48, (0.44, 0.52), cer=0.12, p50=450))
    html = headline_html(c, {"naver": "Naver"})
    head = cells(html.split("<tbody>")[0], "th")
    assert head == ["provider", "e2e H ↑", "CER ↓", "CLEval e2e H ↑", "page CER ↓", "latency p50 / p95 (ms)",
                    "cost / 1,000 images"]
    assert "Naver" in html and ">naver<" not in html  # shown names
    body = html.split("<tbody>")[1]
    assert '<td class="best">62.0<span class="ci">[58.0, 66.0]</span></td>' in body  # best e2e H, with interval
    assert '<td class="best">8.0' in body and '<td class="best">450 / 900</td>' in body  # lowest CER, fastest
    assert "3,000 KRW" in body and "unknown" in body
    # a flagged metric appears as a column; one that no provider has a value for (not computed) does not
    page_cer = Metric(END_TO_END, "page_cer", "page CER", lambda c: ratio(c["tp"], c["gt_care"]),
                      higher_is_better=False, headline=True)
    monkeypatch.setattr(table, "METRICS", METRICS + (page_cer,))
    shown = ["e2e_hmean", "rec_cer", "cleval_e2e_hmean", "page_cer"]
    assert [m.name for m in headline_metrics(c.rows)] == shown
    c.rows[0]["e2e_page_cer"] = 0.2
    assert [m.name for m in headline_metrics(c.rows)] == [*shown, "e2e_page_cer"]
    assert cells(headline_html(c).split("<tbody>")[0], "th").count("page CER ↓") == 2  # page text's and the new one
    assert comparison_html(c).count(">page CER</th>") == 2  # and the full table has every metric


# --- plot fonts --------------------------------------------------------------------------------

def draw_text(text: str, families: list[str]) -> np.ndarray:
    from matplotlib import rc_context

    with rc_context({"font.family": families}):
        fig = Figure(figsize=(1.6, 0.5), dpi=100)
        fig.text(0.05, 0.3, text, fontsize=16)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())


def test_plots_draw_ascii_in_dejavu_and_hangul_in_the_korean_font(nanum_font: Path):
    families = plots.font_families(str(nanum_font))
    assert families[0] == "DejaVu Sans" and len(families) == 2
    nanum_only = families[1:]
    # NanumGothic draws "<" and ">" as angle brackets: the chosen list draws them as DejaVu does
    for text in ("<16 px", ">=64 px"):
        assert np.array_equal(draw_text(text, families), draw_text(text, ["DejaVu Sans"])), text
        assert not np.array_equal(draw_text(text, nanum_only), draw_text(text, ["DejaVu Sans"])), text
    # and Hangul still comes out (from the fallback), with no missing-glyph warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        korean = draw_text("한국어", families)
    blank = draw_text(" ", families)
    assert not np.array_equal(korean, blank)


# --- overlays ------------------------------------------------------------------------------------

def square(x: float, y: float, w: float = 40, h: float = 20) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def test_fitted_labels_never_overlap_each_other_or_other_boxes():
    marks = [Mark(MATCH, square(100, 100), "right"),
             Mark(MISSED, square(130, 100), "missed"),  # both want the place above: the error gets it
             Mark(FALSE, square(300, 100), "free"),
             Mark(MATCH, square(300, 70), "above"),  # "free"'s label would cover this box: it goes below instead
             Mark(MATCH, square(500, 2), "edge"),  # no room above: below
             Mark(MATCH, square(20, 300, 600, 90), "")]  # no label to place
    boxes = fit_labels(marks, [(60, 16)] * len(marks), (640, 400))
    assert boxes[1] == (130, 83, 190, 99)  # just above its box
    assert boxes[0] == (100, 121, 160, 137)  # the match gives way: below its box
    assert boxes[2] == (300, 121, 360, 137)
    assert boxes[3] == (300, 53, 360, 69)
    assert boxes[4] == (500, 23, 560, 39)
    assert boxes[5] is None
    placed = [b for b in boxes if b is not None]
    for k, a in enumerate(placed):
        for b in placed[k + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    crowded = [Mark(MISSED, square(100, 100), "a"), Mark(MISSED, square(100, 122), "b"),
               Mark(MISSED, square(100, 144), "c")]
    assert fit_labels(crowded, [(60, 16)] * 3, (640, 400)) == [(100, 83, 160, 99), None, (100, 165, 160, 181)]


def test_a_dense_page_draws_fewer_labels_and_bench_show_is_unchanged(nanum_font: Path):
    marks = [Mark(MATCH if (i + j) % 3 else MISSED, square(20 + 60 * i, 20 + 24 * j, 50, 20), f"단어{i}{j}")
             for i in range(8) for j in range(12)]
    overlay = Overlay("page", marks, {MATCH: 64, MISSED: 32})
    image = Image.new("RGB", (520, 330), "white")
    fitted, drawn = draw_overlay(image, overlay, str(nanum_font), fit=True)
    every, all_drawn = draw_overlay(image, overlay, str(nanum_font))
    assert all_drawn == len(marks) and 0 < drawn < len(marks)
    assert fitted.size == every.size
    assert np.array_equal(np.asarray(render(image, overlay, str(nanum_font))), np.asarray(every))  # bench show's call


def test_hover_layer_has_every_item_with_its_text():
    overlay = Overlay("img", [Mark(MATCH, square(0, 0), "가<b>"), Mark(MISSED, square(50, 0), "나"),
                              Mark(FALSE, ((0, 0), (5, 5)), "line")], {})
    svg = hover_layer(overlay, (640, 480))
    assert svg.startswith('<svg class="hover" viewBox="0 0 640 480"')
    assert svg.count("<polygon") == 2  # a two-point item has no area to hover
    assert "<title>matched, text right: 가&lt;b&gt;</title>" in svg and "<title>missed (gt): 나</title>" in svg
    assert 'points="50.0,0.0 90.0,0.0 90.0,20.0 50.0,20.0"' in svg


def test_each_block_of_the_full_table_says_which_protocol_it_comes_from():
    html = comparison_html(comparison(row("naver", 0.62, (0.58, 0.66))))
    captions = re.findall(r"<caption>(.*?)</caption>", html)
    assert captions[:4] == ["runs", "IoU protocol: detection", "IoU protocol: end to end", "IoU protocol: recognition"]
    assert "CLEval: end to end" in captions and "Page text" in captions
