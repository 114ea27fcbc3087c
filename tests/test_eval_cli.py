"""`bench eval` end to end: inputs in every accepted form, outputs, messages and exit codes."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import app

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "kr_docs_mini"
SHARED = REPO.parent / "shared"

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["eval", *map(str, args)])


def write_gt(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_sample_evaluates_and_writes_every_output(tmp_path: Path):
    out = tmp_path / "out"
    result = run("--api_res_json", SAMPLE / "res", "--txt_gt_dir", SAMPLE / "gt", "--out", out, "--iou", 0.5, "--iou", 0.8)
    assert result.exit_code == 0, result.output
    assert "det H" in result.stdout and "0.80" in result.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("images", "gt_care", "pred_care", "missing_predictions", "errors"):
        assert isinstance(summary[key], int)
    assert set(summary["detection"]) >= {"tp", "precision", "recall", "hmean"}
    assert set(summary["end_to_end"]) >= {"correct", "precision", "recall", "hmean"}
    assert set(summary["recognition"]) >= {"accuracy_micro", "accuracy_macro", "accuracy_matched", "cer", "jamo_cer"}
    assert summary["images"] == 10 and summary["iou"] == 0.5

    per_image = read_csv(out / "per_image.csv")
    assert len(per_image) == 10
    assert sum(int(r["tp"]) for r in per_image) == summary["detection"]["tp"]
    assert sum(int(r["gt_care"]) for r in per_image) == summary["gt_care"]
    matches = read_csv(out / "matches.csv")
    assert sum(r["kind"] == "match" for r in matches) == summary["detection"]["tp"]
    assert sum(r["kind"] == "missed" for r in matches) == summary["gt_care"] - summary["detection"]["tp"]
    assert sum(r["correct"] == "True" for r in matches) == summary["end_to_end"]["correct"]
    sweep = read_csv(out / "sweep.csv")
    assert [float(r["iou"]) for r in sweep] == [0.5, 0.8]
    assert int(sweep[1]["tp"]) <= int(sweep[0]["tp"])
    for name in ("per_image.csv", "matches.csv", "sweep.csv"):
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf"), f"{name} needs a BOM for Excel"
    assert any("\uac00" <= ch <= "\ud7a3" for r in matches for ch in r["gt_text"])


def test_dashed_spellings_are_accepted():
    result = runner.invoke(app, ["eval", "--api-res-json", str(SAMPLE / "res"), "--txt-gt-dir", str(SAMPLE / "gt")])
    assert result.exit_code == 0, result.output


def test_malformed_gt_line_exits_2_names_file_and_line_and_writes_nothing(tmp_path: Path):
    gt = write_gt(tmp_path / "gt", {"a.txt": "0,0,1,0,1,1,0,1,가\n0,0,1,0,oops,1,0,1,나\n"})
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"a": {"가": [0, 0, 1, 0, 1, 1, 0, 1]}}), encoding="utf-8")
    out = tmp_path / "out"
    result = run("--api_res_json", preds, "--txt_gt_dir", gt, "--out", out)
    assert result.exit_code == 2
    assert "a.txt, line 2" in result.stderr
    assert not out.exists()


def test_skip_bad_lines_reports_and_counts(tmp_path: Path):
    gt = write_gt(tmp_path / "gt", {"a.txt": "0,0,1,0,1,1,0,1,가\nnot a line\n"})
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"a": {"가": [0, 0, 1, 0, 1, 1, 0, 1]}}), encoding="utf-8")
    out = tmp_path / "out"
    result = run("--api_res_json", preds, "--txt_gt_dir", gt, "--out", out, "--skip-bad-lines")
    assert result.exit_code == 0, result.output
    assert "a.txt, line 2" in result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["bad_lines"] == 1 and summary["detection"]["tp"] == 1


def test_raw_kakao_with_quota_error_written_by_the_old_script(tmp_path: Path):
    gt = write_gt(tmp_path / "gt", {"a.txt": "0,0,10,0,10,5,0,5,가자미\n", "b.txt": "0,0,10,0,10,5,0,5,전골\n",
                                    "c.txt": "0,0,10,0,10,5,0,5,낙지\n"})
    raw = {"a.jpg": {"result": [{"boxes": [[0, 0], [10, 0], [10, 5], [0, 5]], "recognition_words": ["가 자 미"]}]},
           "b.jpg": {"code": -10, "msg": "API limit has been exceeded."}}
    preds = tmp_path / "naver.json"  # misleading name: the content decides
    preds.write_bytes(b"\xef\xbb\xbf" + json.dumps(raw, ensure_ascii=False).encode("utf-8"))
    out = tmp_path / "out"
    result = run("--api_res_json", preds, "--txt_gt_dir", gt, "--out", out, "--ignore-space")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["provider"] == "kakao"
    assert (summary["images"], summary["errors"], summary["missing_predictions"]) == (3, 1, 1)
    assert summary["end_to_end"]["correct"] == 1
    assert summary["recognition"]["accuracy_micro"] == pytest.approx(1 / 3)


def test_schema_file_round_trip(tmp_path: Path):
    from adapters.providers.results import load_results

    gt = write_gt(tmp_path / "gt", {"a.txt": "0,0,10,0,10,5,0,5,가\n"})
    raw = tmp_path / "jenti.json"
    raw.write_text(json.dumps({"a": {"가": [0, 0, 10, 0, 10, 5, 0, 5]}}, ensure_ascii=False), encoding="utf-8")
    schema = tmp_path / "normalized.json"
    load_results(raw).save(schema)
    a = run("--api_res_json", raw, "--txt_gt_dir", gt)
    b = run("--api_res_json", schema, "--txt_gt_dir", gt)
    assert a.exit_code == b.exit_code == 0
    assert a.stdout.splitlines()[2:] == b.stdout.splitlines()[2:]


@pytest.mark.parametrize("args, message", [
    (["--iou", "1.5"], "IoU threshold"),
    (["--api_res_json", "/nonexistent.json"], "no such file"),
])
def test_bad_arguments_exit_2(tmp_path: Path, args, message):
    base = {"--api_res_json": str(SAMPLE / "res"), "--txt_gt_dir": str(SAMPLE / "gt")}
    extra = dict(zip(args[::2], args[1::2]))
    argv = [x for k, v in {**base, **extra}.items() for x in (k, v)]
    result = runner.invoke(app, ["eval", *argv])
    assert result.exit_code == 2
    assert message in result.stderr


def test_invalid_json_exits_2_with_position(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": [1, 2,', encoding="utf-8")
    result = run("--api_res_json", bad, "--txt_gt_dir", SAMPLE / "gt")
    assert result.exit_code == 2 and "line 1" in result.stderr


def test_help_has_examples():
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "Examples" in result.stdout and "--api_res_json" in result.stdout


@pytest.mark.skipif(not (SHARED / "datasets" / "kr_docs").exists(),
                    reason="needs ../shared/datasets/kr_docs (gt_eval_doc_v1_kr.zip and res_eval_doc_v1_kr.zip: the "
                           "100-page CLEval kr_docs set, clovaai/CLEval resources/test_data; in CI it sits beside "
                           "the checkout); samples/kr_docs_mini holds its first 10 pages, not the 100 this checks")
@pytest.mark.slow  # seconds of work in one test
def test_kr_docs_zips_evaluate_directly(tmp_path: Path):
    kr = SHARED / "datasets" / "kr_docs"
    out = tmp_path / "out"
    result = run("--api_res_json", kr / "res_eval_doc_v1_kr.zip", "--txt_gt_dir", kr / "gt_eval_doc_v1_kr.zip", "--out", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["images"] == 100 and summary["missing_predictions"] == 0
    assert summary["gt_care"] + summary["gt_dont_care"] == 10532
    # the detector is good but not perfect on these pages
    assert 0.7 < summary["detection"]["hmean"] < 1.0


def test_out_naming_a_file_exits_2_without_traceback(tmp_path: Path):
    afile = tmp_path / "afile"
    afile.write_text("", encoding="utf-8")
    result = run("--api_res_json", SAMPLE / "res", "--txt_gt_dir", SAMPLE / "gt", "--out", afile)
    assert result.exit_code == 2 and "must be a folder" in result.stderr


def test_summary_records_absolute_input_paths(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "out"
    assert run("--api_res_json", "samples/kr_docs_mini/res", "--txt_gt_dir", "samples/kr_docs_mini/gt",
               "--out", out).exit_code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["predictions"] == str(SAMPLE / "res") and summary["ground_truth"] == str(SAMPLE / "gt")


def test_empty_raw_results_file_counts_every_image_as_missing(tmp_path: Path):
    empty = tmp_path / "naver.json"
    empty.write_text("{}", encoding="utf-8")
    out = tmp_path / "out"
    result = run("--api_res_json", empty, "--txt_gt_dir", SAMPLE / "gt", "--out", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["missing_predictions"] == summary["images"] == 10


def test_formula_like_texts_are_defused_in_csv(tmp_path: Path):
    gt = write_gt(tmp_path / "gt", {"a.txt": "0,0,10,0,10,5,0,5,=HYPERLINK(\"http://x\")\n"})
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"a": {"@cmd": [0, 0, 10, 0, 10, 5, 0, 5], "-3": [20, 0, 30, 0, 30, 5, 20, 5]}}),
                     encoding="utf-8")
    out = tmp_path / "out"
    assert run("--api_res_json", preds, "--txt_gt_dir", gt, "--out", out).exit_code == 0
    rows = read_csv(out / "matches.csv")
    texts = {r["gt_text"] for r in rows} | {r["pred_text"] for r in rows}
    assert "'=HYPERLINK(\"http://x\")" in texts and "'@cmd" in texts and "-3" in texts
