"""eval/inputs.py: the one place eval, report and show turn their options into checked inputs."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from adapters.core.errors import InputError
from eval.evaluate import EvalOptions
from eval.inputs import EvalInputs, read_eval_inputs
from eval.text import TextOptions

GOOD = "0,0,10,0,10,10,0,10,가\n20,0,30,0,30,10,20,10,###\n40,0,50,0,50,10,40,10,?\n"


def gt_folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_options_and_markers_come_from_the_arguments(tmp_path: Path):
    gt = gt_folder(tmp_path / "gt", {"gt_a.txt": GOOD})
    text = TextOptions(ignore_space=True)
    inputs = read_eval_inputs(gt, [0.7, 0.5, 0.7], ignore_text=["?"], text=text, min_score=0.2)
    assert inputs.options == EvalOptions(thresholds=(0.7, 0.5), text=text, min_score=0.2)
    assert inputs.dont_care_markers == ("###", "?") and inputs.gt_dir == gt
    assert [(w.text, w.care) for w in inputs.gt["a"]] == [("가", True), ("###", False), ("?", False)]
    assert inputs.bad_lines == []
    assert read_eval_inputs(gt, []).options.thresholds == (0.5,)  # no --iou: the default headline


def test_bad_inputs_are_input_errors(tmp_path: Path):
    gt = gt_folder(tmp_path / "gt", {"a.txt": GOOD})
    with pytest.raises(InputError, match=r"IoU threshold must be in \[0, 1\), got 1.0"):
        read_eval_inputs(gt, [0.5, 1.0])
    with pytest.raises(InputError, match="no ground-truth .txt files found"):
        read_eval_inputs(gt_folder(tmp_path / "empty", {}), [0.5])
    with pytest.raises(InputError, match="no such folder or zip file"):
        read_eval_inputs(tmp_path / "missing", [0.5])


def test_skipped_lines_are_kept_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                           monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(logging.getLogger("bench"), "propagate", True)  # the CLI turns it off once run
    caplog.set_level(logging.WARNING, logger="bench")
    gt = gt_folder(tmp_path / "gt", {"a.txt": GOOD + "1,2,3\n"})
    with pytest.raises(InputError, match="a.txt, line 4"):
        read_eval_inputs(gt, [0.5])
    inputs = read_eval_inputs(gt, [0.5], skip_bad_lines=True)
    assert len(inputs.gt["a"]) == 3 and [b.line for b in inputs.bad_lines] == [4]
    assert "skipped" in caplog.text and "a.txt, line 4" in caplog.text


def test_without_ground_truth_only_the_options_are_built(tmp_path: Path):
    inputs = read_eval_inputs(None, [0.3], ignore_text=["?"], skip_bad_lines=True)
    assert inputs == EvalInputs(EvalOptions(thresholds=(0.3,)), dont_care_markers=("###", "?"))
    assert inputs.gt == {} and inputs.gt_dir is None


def test_provenance_names_the_resolved_inputs(tmp_path: Path):
    gt = gt_folder(tmp_path / "gt", {"a.txt": GOOD})
    inputs = read_eval_inputs(gt, [0.5])
    assert inputs.provenance(tmp_path / "p.json") == {
        "bad_lines": 0, "predictions": str((tmp_path / "p.json").resolve()), "ground_truth": str(gt.resolve())}
