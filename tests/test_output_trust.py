"""Write errors ("Trust under faults and bad input", case 7): every output file goes through a
temporary file renamed into place, and a write error is one line naming the path (exit code 2).

Tests run as root, where a read-only folder does not stop a write; so a folder that cannot be
made uses a path under a regular file (ENOTDIR), and a full disk is injected where the helper
opens its temporary file.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.core import atomic
from adapters.core.atomic import atomic_open, staged, write_text_atomic
from adapters.core.errors import OutputError
from bench import app

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "kr_docs_mini"
runner = CliRunner()


class _FullHandle:
    """A file whose writes fail with ENOSPC once ``budget`` bytes went in."""

    def __init__(self, handle: Any, disk: "FullDisk") -> None:
        self._handle, self._disk = handle, disk

    def write(self, data: Any) -> int:
        self._disk.written += len(data)
        if self._disk.written > self._disk.budget:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._handle.write(data)

    def __enter__(self) -> "_FullHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


class FullDisk:
    """Patched over ``adapters.core.atomic._open``: files named in ``names`` (all if None) fill the disk."""

    def __init__(self, budget: int = 0, names: tuple[str, ...] | None = None) -> None:
        self.budget, self.names, self.written = budget, names, 0

    def __call__(self, path: Path, mode: str, **kwargs: Any) -> Any:
        handle = open(path, mode, **kwargs)
        if self.names is None or any(path.name.startswith(f".{name}.") for name in self.names):
            return _FullHandle(handle, self)
        return handle


def one_line_error(result: Any, *fragments: str) -> str:
    """The run failed with exit code 2 and one ``error:`` line containing every fragment."""
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in err, err
    return err


def no_temporaries(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")], list(folder.rglob("*.tmp"))


# --- the helper ----------------------------------------------------------------------------------

def test_full_disk_keeps_the_old_file_and_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "a.csv"
    target.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(atomic, "_open", FullDisk(budget=3))
    with pytest.raises(OutputError) as caught:
        write_text_atomic(target, "new content\n")
    assert str(caught.value) == f"{target}: cannot write (No space left on device)"
    assert target.read_text(encoding="utf-8") == "old\n"
    no_temporaries(tmp_path)


def test_staged_files_replace_their_targets_together_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("old", encoding="utf-8")
    monkeypatch.setattr(atomic, "_open", FullDisk(names=("b.txt",)))
    with pytest.raises(OutputError, match="b.txt: cannot write"):
        with staged():
            write_text_atomic(tmp_path / "a.txt", "new")
            assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "old"  # not yet renamed
            write_text_atomic(tmp_path / "b.txt", "new")
    assert [(tmp_path / n).read_text(encoding="utf-8") for n in ("a.txt", "b.txt")] == ["old", "old"]
    no_temporaries(tmp_path)
    monkeypatch.setattr(atomic, "_open", open)
    with staged():
        write_text_atomic(tmp_path / "a.txt", "new")
        with atomic_open(tmp_path / "c.txt") as handle:
            handle.write("new")
    assert [(tmp_path / n).read_text(encoding="utf-8") for n in ("a.txt", "c.txt")] == ["new", "new"]


def test_new_files_get_the_usual_permissions(tmp_path: Path):
    write_text_atomic(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_other_errors_pass_through_and_leave_nothing(tmp_path: Path):
    with pytest.raises(KeyError):
        with atomic_open(tmp_path / "a.txt") as handle:
            handle.write("half")
            raise KeyError("bug")
    assert list(tmp_path.iterdir()) == []


# --- bench eval --------------------------------------------------------------------------------

def eval_args(out: Path) -> list[str]:
    return ["eval", "--api_res_json", str(SAMPLE / "res"), "--txt_gt_dir", str(SAMPLE / "gt"), "--out", str(out)]


def test_eval_full_disk_keeps_every_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    out = tmp_path / "out"
    assert runner.invoke(app, eval_args(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(atomic, "_open", FullDisk(budget=100, names=("matches.csv",)))
    result = runner.invoke(app, [*eval_args(out), "--iou", "0.7"])
    one_line_error(result, f"{out / 'matches.csv'}: cannot write (No space left on device)")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # summary.json was not replaced alone
    no_temporaries(tmp_path)


def test_eval_out_under_a_file_is_one_line(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    one_line_error(runner.invoke(app, eval_args(blocker / "out")), str(blocker / "out"), "Not a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the ENOTDIR and ENOSPC tests "
                                               "cover the same code path")
def test_eval_read_only_out_is_one_line(tmp_path: Path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        one_line_error(runner.invoke(app, eval_args(out)), str(out), "Permission denied")
    finally:
        out.chmod(0o755)


# --- bench show, report, synth, gt aihub -------------------------------------------------------

@pytest.fixture
def shown(korean_images, tmp_path: Path) -> list[str]:
    from adapters.core.schema import ImageResult, Item, ResultSet

    words = korean_images.care_words("sign_hall")
    left, top, right, bottom = words[0].box
    path = tmp_path / "preds.json"
    ResultSet("naver", {"sign_hall": ImageResult.ok([Item(((left, top), (right, top), (right, bottom),
                                                          (left, bottom)), "도서관")])}).save(path)
    return ["show", "--images", str(korean_images.images_dir), "--api_res_json", str(path),
            "--txt_gt_dir", str(korean_images.gt_dir), "--no-progress"]


def test_show_out_under_a_file_is_one_line(tmp_path: Path, shown: list[str]):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    one_line_error(runner.invoke(app, [*shown, "--out", str(blocker / "out")]), str(blocker / "out"),
                   "Not a directory")


def test_show_full_disk_is_one_line_and_leaves_no_half_png(tmp_path: Path, shown: list[str],
                                                           monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(atomic, "_open", FullDisk(budget=1000))
    out = tmp_path / "out"
    one_line_error(runner.invoke(app, [*shown, "--out", str(out)]), "No space left on device", ".png")
    assert not list(out.glob("*.png"))
    no_temporaries(out)


@pytest.mark.slow  # a whole report: evaluation, plots, page
def test_report_write_errors_are_one_line_and_leave_no_half_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    args = ["report", str(SAMPLE / "res"), "--txt_gt_dir", str(SAMPLE / "gt"), "--bootstrap", "0", "--no-progress"]
    one_line_error(runner.invoke(app, [*args, "--out", str(blocker / "out")]), str(blocker / "out"), "Not a directory")
    monkeypatch.setattr(atomic, "_open", FullDisk(budget=2000, names=("report.html",)))
    out = tmp_path / "report"
    one_line_error(runner.invoke(app, [*args, "--out", str(out)]), f"{out / 'report.html'}: cannot write")
    assert not [p for p in out.rglob("*") if p.is_file()]  # nothing of the report replaced anything
    monkeypatch.setattr(atomic, "_open", open)
    assert runner.invoke(app, [*args, "--out", str(out)]).exit_code == 0
    assert (out / "report.html").is_file() and (out / "comparison.csv").is_file()


@pytest.mark.slow  # renders synthetic images
def test_synth_write_errors_are_one_line_and_leave_no_partial_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    args = ["synth", "--images", "3", "--no-progress"]
    one_line_error(runner.invoke(app, [*args, "--out", str(blocker / "out")]), str(blocker / "out"), "Not a directory")
    monkeypatch.setattr(atomic, "_open", FullDisk(names=("categories.csv",)))
    out = tmp_path / "set"
    one_line_error(runner.invoke(app, [*args, "--out", str(out)]), f"{out / 'categories.csv'}: cannot write")
    assert not [p for p in out.rglob("*") if p.is_file()]  # no gt without its images, no image without its gt


def test_gt_aihub_write_errors_are_one_line_and_leave_no_partial_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from test_aihub import awkward_list, awkward_set

    aihub, listing = awkward_set(tmp_path / "aihub"), awkward_list(tmp_path / "list.txt")
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    args = ["gt", "aihub", "--aihub", str(aihub), "--list", str(listing), "--no-progress"]
    one_line_error(runner.invoke(app, [*args, "--out", str(blocker / "out")]), str(blocker / "out"), "Not a directory")
    monkeypatch.setattr(atomic, "_open", FullDisk(names=("left_out.csv",)))
    out = tmp_path / "set"
    one_line_error(runner.invoke(app, [*args, "--out", str(out)]), f"{out / 'left_out.csv'}: cannot write")
    assert not [p for p in out.rglob("*") if p.is_file()]
    monkeypatch.setattr(atomic, "_open", open)
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.dumps(sorted(p.name for p in (out / "gt").iterdir())) == '["A.txt", "C.txt", "D.txt"]'
