"""`--prices FILE`: a user's CSV or TOML price table over the built-in prices, and what it costs.

Read from real files (the shipped examples in samples/prices, the blocks in docs/commands.md,
and broken copies of them); every bad line is an error naming the file and the line. The
report's cost columns are checked with a user table, per image and per token.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.core.errors import InputError
from adapters.core.pricing import INPUT_TOKENS, OUTPUT_TOKENS, PAGES, Price, PriceTableError, Rate, cost_per_1000
from adapters.core.schema import ResultSet
from adapters.providers import registry
from adapters.providers.prices import price_for, read_prices, recorded
from adapters.providers.results import load_results
from eval.evaluate import EvalOptions, evaluate
from gt.reader import read_annotations
from reports.compare import ProviderRun, compare

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "samples" / "prices"
SAMPLE = REPO / "samples" / "kr_docs_mini"
DOCS = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")


# --- reading ------------------------------------------------------------------------------------

def test_the_example_tables_in_csv_and_toml_say_the_same():
    from_csv, from_toml = read_prices(EXAMPLES / "prices.csv"), read_prices(EXAMPLES / "prices.toml")
    assert list(from_csv) == list(from_toml) == ["naver", "kakao", "openai", "upstage"]
    for name in from_csv:
        a, b = from_csv[name], from_toml[name]
        assert a.source == f"your price table ({EXAMPLES / 'prices.csv'})"
        assert b.source == f"your price table ({EXAMPLES / 'prices.toml'})"
        assert (a.krw_per_1000, a.usd_per_1000, a.rates, a.free_quota, a.note, a.checked, a.unit) == \
               (b.krw_per_1000, b.usd_per_1000, b.rates, b.free_quota, b.note, b.checked, b.unit)
    assert from_csv["kakao"].krw_per_1000 == 1500  # "1,500" with its thousands separator
    assert from_csv["openai"].rates == (Rate(INPUT_TOKENS, None, 0.15), Rate(OUTPUT_TOKENS, None, 0.60))
    assert from_csv["upstage"].rates == (Rate(PAGES, None, 10.0),) and from_csv["upstage"].unit == "billed page"
    assert from_csv["naver"].describe() == "3,000 KRW per 1,000 images (our 2026 contract)"
    assert from_csv["openai"].describe() == ("0.15 USD per 1M input tokens + 0.60 USD per 1M output tokens "
                                             "(the model we use)")


@pytest.mark.parametrize("kind", ["csv", "toml"])
def test_the_docs_show_the_shipped_example_tables(kind: str):
    match = re.search(rf"<!-- example-prices-{kind} -->\n```{kind}\n(.*?)```\n<!-- /example-prices-{kind} -->",
                      DOCS, re.S)
    assert match, f"docs/commands.md has no example-prices-{kind} block"
    assert match.group(1) == (EXAMPLES / f"prices.{kind}").read_text(encoding="utf-8")


HEADER = "provider,krw_per_1000_images,usd_per_1000_images,usd_per_1m_input_tokens,usd_per_1m_output_tokens\n"


@pytest.mark.parametrize("name, text, line, message", [
    ("p.csv", HEADER + "naver,3000,,,\nnavr,100,,,\n", 3, "unknown provider 'navr'; known: "),
    ("p.csv", HEADER + "naver,3000,,,\nnaver,2000,,,\n", 3, "naver is priced twice (first on line 2)"),
    ("p.csv", HEADER + "naver,three thousand,,,\n", 2, "krw_per_1000_images must be a number such as 1500 or "
                                                       "0.25, not 'three thousand'"),
    ("p.csv", HEADER + "kakao,-5,,,\n", 2, "krw_per_1000_images must be a number such as 1500 or 0.25, not '-5'"),
    ("p.csv", HEADER + "kakao,nan,,,\n", 2, "krw_per_1000_images must be a number such as 1500 or 0.25, not 'nan'"),
    ("p.toml", "[openai]\nusd_per_1m_input_tokens = 0.15\nkrw_per_1m_output_tokens = 200\n", 3,
     "openai: a KRW price per output token needs krw_per_1m_input_tokens too"),
    ("p.csv", HEADER + "naver,,,0.15,0.60\n", 2, "a price per input token for naver, whose raw answers record "
                                                 "nothing billed: give a price per 1,000 images instead"),
    ("p.csv", HEADER + "openai,,,0.15,\n", 2, "openai: a USD price per input token needs "
                                              "usd_per_1m_output_tokens too (0 if they are free)"),
    ("p.csv", HEADER + "kakao,,,,\n", 2, "kakao has no price: give krw_per_1000_images or usd_per_1000_images"),
    ("p.csv", HEADER + "kakao,1,2,3,4,5\n", 2, "6 cells, but the header names 5 columns"),
    ("p.csv", "# comment\nprovider,krw_per_1000\nnaver,1\n", 2, "unknown column 'krw_per_1000'; the header names "
                                                                 "columns of provider, krw_per_1000_images"),
    ("p.csv", "name,krw_per_1000_images\nnaver,1\n", 1, "no 'provider' column"),
    ("p.csv", HEADER + ",100,,,\n", 2, "no provider named"),
    ("p.toml", "[naver]\nkrw_per_1000_images = 3000\n\n[kakao]\nkrw_per_1000_image = 5\n", 5,
     "unknown key 'krw_per_1000_image' in [kakao]"),
    ("p.toml", "[naver]\nkrw_per_1000_images = true\n", 2, "krw_per_1000_images must be a number, not True"),
    ("p.toml", "[naver]\nkrw_per_1000_images = 3000\n[azure]\nusd_per_1000_pages = 1.5\n", 4,
     "a price per page for azure, whose raw answers record nothing billed"),
    ("p.toml", "naver = 3000\n", 1, "'naver' is not a table: give one [provider] table per provider"),
    ("p.toml", "[naver]\nkrw_per_1000_images = 3000\n[tesseract\n", 3, "not TOML (Expected ']' at the end of a "
                                                                       "table declaration)"),
    ("p.toml", "[naver]\nkrw_per_1000_images = 3000\n\n[Naver]\nkrw_per_1000_images = 1\n", 4,
     "naver is priced twice (first on line 1)"),
    ("p.toml", "[naver]\nkrw_per_1000_images = 1\nKRW_per_1000_images = 2\n", 3,
     "KRW_per_1000_images is given twice in [naver]"),
    ("p.toml", "[naver]\nkrw_per_1000_images = [1, 2]\n", 2, "krw_per_1000_images in [naver] must be a number or a "
                                                             "text, not a list"),
])
def test_a_bad_line_is_an_error_naming_file_and_line(tmp_path, name: str, text: str, line: int, message: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PriceTableError) as error:
        read_prices(path)
    assert str(error.value).startswith(f"{path}, line {line}: {message}"), str(error.value)
    assert isinstance(error.value, InputError)  # exit code 2


@pytest.mark.parametrize("name, data, message", [
    ("p.json", b"{}", "a price table is a .csv or a .toml file"),
    ("p.csv", "provider,krw_per_1000_images\nnaver,3000\n".encode("utf-16"), "not UTF-8 text"),
    ("p.csv", b"# nothing but a comment\n", "empty (a header line, then one line per provider)"),
    ("absent.toml", None, "no such price table"),
])
def test_a_file_that_is_no_table_is_an_error_naming_it(tmp_path, name: str, data: bytes | None, message: str):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(PriceTableError, match=re.escape(f"{path}: {message}")):
        read_prices(path)


def test_a_bom_comments_blank_lines_and_case_are_taken_as_written(tmp_path):
    path = tmp_path / "Prices.CSV"
    path.write_bytes("\ufeff# ours\n\nProvider,KRW_per_1000_images,note\nNAVER, 2500 ,\"계약, 2026\"\n".encode())
    [price] = read_prices(path).values()
    assert (price.provider, price.krw_per_1000, price.note, price.rates) == ("naver", 2500.0, "계약, 2026", ())


def test_your_entry_replaces_the_built_in_one_and_the_others_stay():
    table = read_prices(EXAMPLES / "prices.csv")
    assert price_for("naver", table) is table["naver"] and price_for("NAVER", table) is table["naver"]
    assert price_for("google", table) is registry.get("google").price
    assert price_for("google") is registry.get("google").price
    assert not price_for("icdar", table).known
    assert read_prices(None) == {}


# --- costing ------------------------------------------------------------------------------------

def test_a_metered_price_is_costed_from_what_the_answers_record():
    openai = read_prices(EXAMPLES / "prices.toml")["openai"]
    answers = [{"usage": {"prompt_tokens": 1000, "completion_tokens": 40}},
               {"usage": {"prompt_tokens": 1400, "completion_tokens": 60}},
               {"error": {"message": "rate limited"}}]  # records nothing: left out
    found = recorded("openai", answers)
    assert found == [{INPUT_TOKENS: 1000, OUTPUT_TOKENS: 40}, {INPUT_TOKENS: 1400, OUTPUT_TOKENS: 60}]
    cost = cost_per_1000(openai, found, "in runs/gpt/openai.json")
    assert cost.usd_per_1000 == pytest.approx(1000 * (1200 * 0.15 + 50 * 0.60) / 1e6)
    assert cost.krw_per_1000 is None  # no KRW rate: no exchange rate is assumed
    assert cost.basis == ("metered: 1,200.0 input tokens + 50.0 output tokens per image on average, from 2 answers "
                          "in runs/gpt/openai.json")
    unknown = cost_per_1000(openai, [], "in runs/gpt")
    assert not unknown.known and unknown.basis == ("priced per token, and no answer in runs/gpt records the input "
                                                   "and output tokens")
    pages = cost_per_1000(read_prices(EXAMPLES / "prices.csv")["upstage"],
                          recorded("upstage", [{"numBilledPages": 1}, {"numBilledPages": 2}]))
    assert pages.usd_per_1000 == pytest.approx(15.0)
    both = Price("openai", "image or token", None, 9.0, "", "", "", rates=openai.rates)
    fallback = cost_per_1000(both, [], "in OUT")
    assert fallback.usd_per_1000 == 9.0 and fallback.basis == "per image: no answer in OUT records the input and " \
                                                              "output tokens"
    assert recorded("kakao", [{"result": []}]) == []  # answers that record nothing billed


# --- the report's cost columns ------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    results = load_results(SAMPLE / "res")
    evaluation = evaluate(read_annotations(SAMPLE / "gt").images, results.images, EvalOptions())
    return results, evaluation


def test_the_report_costs_each_run_with_your_table(sample, tmp_path):
    results, evaluation = sample
    folder = tmp_path / "gpt"
    folder.mkdir()
    stems = sorted(results.images)
    raw = {stem: {"choices": [], "usage": {"prompt_tokens": 1000 + 100 * k, "completion_tokens": 20}}
           for k, stem in enumerate(stems)}
    raw["not_in_gt"] = {"choices": [], "usage": {"prompt_tokens": 10 ** 9, "completion_tokens": 0}}
    (folder / "openai.json").write_text(json.dumps(raw), encoding="utf-8")
    ResultSet("openai", results.images).save(folder / "openai.normalized.json")
    runs = [ProviderRun("naver", ResultSet("naver", results.images), SAMPLE / "res", SAMPLE / "res", "results file",
                        evaluation=evaluation),
            ProviderRun("openai", ResultSet("openai", results.images), folder / "openai.normalized.json",
                        folder / "openai.normalized.json", "results file", evaluation=evaluation),
            ProviderRun("kakao", ResultSet("kakao", results.images), SAMPLE / "res", SAMPLE / "res", "results file",
                        evaluation=evaluation)]
    table_path = EXAMPLES / "prices.csv"
    table = read_prices(table_path)
    table.pop("kakao")
    rows = {row["provider"]: row for row in compare(runs, resamples=0, prices=table).rows}

    naver = rows["naver"]
    assert (naver["cost_krw_per_1000"], naver["cost_usd_per_1000"]) == (3000.0, None)
    assert naver["price_source"] == f"your price table ({table_path})" and naver["price_checked"] == "2026-12-01"
    assert naver["free_quota"] == "first 100 calls a month" and naver["price_note"] == "our 2026 contract"

    gpt = rows["openai"]
    mean_input = sum(1000 + 100 * k for k in range(len(stems))) / len(stems)  # the gt images only
    assert gpt["cost_usd_per_1000"] == pytest.approx(1000 * (mean_input * 0.15 + 20 * 0.60) / 1e6)
    assert gpt["cost_krw_per_1000"] is None
    assert gpt["price_note"].startswith(f"metered: {mean_input:,.1f} input tokens + 20.0 output tokens per image on "
                                        f"average, from {len(stems)} answers in {folder / 'openai.json'}, at 0.15 USD")

    kakao = rows["kakao"]  # not in the table: the built-in entry, unknown, says why
    assert kakao["cost_krw_per_1000"] is None and kakao["price_note"].startswith("unknown: no price for the Vision")
    assert kakao["price_source"] == registry.get("kakao").price.source

    alone = compare(runs[1:2], resamples=0, prices={"openai": table["openai"]}).rows[0]
    (folder / "openai.json").unlink()
    missing = compare(runs[1:2], resamples=0, prices={"openai": table["openai"]}).rows[0]
    assert alone["cost_usd_per_1000"] == gpt["cost_usd_per_1000"]
    assert missing["cost_usd_per_1000"] is None
    assert missing["price_note"] == (f"unknown: priced per token, and no answer next to {folder / 'openai.normalized.json'}"
                                     f" (no openai.json there) records the input and output tokens")


@pytest.mark.slow
def test_bench_report_prices_puts_your_table_in_comparison_csv_and_the_page(tmp_path):
    from bench import app

    ResultSet("naver", load_results(SAMPLE / "res").images).save(tmp_path / "naver.normalized.json")
    table = tmp_path / "ours.toml"
    table.write_text('[naver]\nkrw_per_1000_images = 2750\nfree_quota = "none"\nnote = "contract 7"\n',
                     encoding="utf-8")
    common = [str(tmp_path / "naver.normalized.json"), "--txt_gt_dir", str(SAMPLE / "gt"), "--bootstrap", "0",
              "--no-progress"]
    done = CliRunner().invoke(app, ["report", *common, "--out", str(tmp_path / "r"), "--prices", str(table)])
    assert done.exit_code == 0, done.output
    with open(tmp_path / "r" / "comparison.csv", encoding="utf-8-sig", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["cost_krw_per_1000"], row["price_source"], row["price_note"]) == \
           ("2750.0", f"your price table ({table})", "contract 7")
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert f"your price table ({table})" in page and "2,750 KRW" in page

    table.write_text('[naver]\nkrw_per_1000_images = 2750\n[nave]\nkrw_per_1000_images = 1\n', encoding="utf-8")
    bad = CliRunner().invoke(app, ["report", *common, "--out", str(tmp_path / "bad"), "--prices", str(table)])
    assert bad.exit_code == 2 and f"{table}, line 3: unknown provider 'nave'" in bad.output
    assert not (tmp_path / "bad").exists()


def test_bench_demo_checks_your_table_first_and_passes_it_to_the_report(tmp_path, monkeypatch):
    from adapters.collection import demo

    calls: list[list[str]] = []
    monkeypatch.setattr(demo.subprocess, "call", lambda args: calls.append(args) or 0)
    monkeypatch.setattr(demo, "demo_runs", lambda say: [])
    bad = tmp_path / "bad.csv"
    bad.write_text("provider,krw_per_1000_images\nnaver,lots\n", encoding="utf-8")
    with pytest.raises(PriceTableError, match=re.escape(f"{bad}, line 2: krw_per_1000_images must be a number")):
        demo.run_demo(tmp_path / "demo", 2, 7, lambda line: None, prices=bad)
    assert calls == []  # not even the synthetic set was made
    demo.run_demo(tmp_path / "demo", 2, 7, lambda line: None, prices=EXAMPLES / "prices.toml")
    assert [args[3] for args in calls] == ["synth", "report"]
    assert calls[-1][-2:] == ["--prices", str(EXAMPLES / "prices.toml")]
