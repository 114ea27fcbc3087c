"""gt/outputs.py: what counts as an existing gt set, and the refusal to mix two sets."""
from __future__ import annotations

from pathlib import Path

import pytest

from adapters.core.errors import InputError
from gt.outputs import existing_outputs, refuse_to_mix


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_lists_gt_images_and_named_files_only(tmp_path: Path):
    gt = touch(tmp_path / "gt" / "a.txt")
    jpg = touch(tmp_path / "images" / "Goods" / "a.jpg")
    png = touch(tmp_path / "images" / "Goods" / "deep" / "b.PNG")
    csv = touch(tmp_path / "categories.csv")
    touch(tmp_path / "notes.md")
    touch(tmp_path / "images" / "Goods" / "readme.txt")
    (tmp_path / "images" / "Goods" / "link.jpg").symlink_to(tmp_path / "gone.jpg")  # a dangling link still counts
    assert existing_outputs(tmp_path, "*/*.jpg", (".jpg",), ("categories.csv",)) == [
        gt, tmp_path / "images" / "Goods" / "a.jpg", tmp_path / "images" / "Goods" / "link.jpg", csv]
    assert existing_outputs(tmp_path, "**/*", (".jpg", ".png"), ("categories.csv", "left_out.csv")) == [
        gt, jpg, png, tmp_path / "images" / "Goods" / "link.jpg", csv]
    assert existing_outputs(tmp_path / "nothing", "*/*.jpg", (".jpg",), ("categories.csv",)) == []


def test_refuses_without_overwrite(tmp_path: Path):
    found = [tmp_path / "gt" / "a.txt", tmp_path / "categories.csv"]
    with pytest.raises(InputError, match=r"already holds a data set \(.*a.txt and 1 more\).*--overwrite"):
        refuse_to_mix(tmp_path, found, overwrite=False)
    refuse_to_mix(tmp_path, found, overwrite=True)
    refuse_to_mix(tmp_path, [], overwrite=False)
