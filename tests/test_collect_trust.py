"""Trust under faults and bad input, collection part: settings and outputs.

1. answers collected under other settings are never reused (the request fingerprint);
2. the outputs hold everything OUT has for the current settings, not just this run's images;
4. OUT not writable, a full disk on the outputs or on the journal: one line, exit code 2.

(3 and 5, kill -9 and damaged journal lines, are in test_collect_journal_trust.py; 6, secrets,
in test_collect_secrets.py.) The fast tests drive the collector in-process with a provider that
answers without any I/O; the slow ones run `bench collect` against the loopback emulators or
the local engine.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.collection.files import WriteError, check_writable
from adapters.collection.fingerprint import differences, public_endpoint, request_fingerprint
from adapters.core.credentials import ProviderConfig, Secret
from adapters.core.errors import InputError
from adapters.emulators.emulator import Emulator, GtAnswers
from adapters.providers import registry
from adapters.providers.registry import Settings
from collect_support import (Answering, bench_env, collect_quietly, journal_lines, make_set, quiet_collect_args,
                             run_bench, runs_rows, snapshot, stored)

PSM11 = {"provider": "fake", "options": {"psm": 11}}
PSM6 = {"provider": "fake", "options": {"psm": 6}}


# --- 1. collected under other settings, reused anyway ---------------------------------------------

def test_other_settings_on_the_same_out_stop_before_anything_is_sent(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 4)
    out = tmp_path / "out"
    collect_quietly(Answering("psm11"), images, out, PSM11)
    before = snapshot(out)
    other = Answering("psm6")
    with pytest.raises(InputError) as refused:
        collect_quietly(other, images, out, PSM6)
    message = str(refused.value)
    assert f"{out} holds fake results collected with psm=11; this run asks psm=6" in message
    assert "another --out" in message and "--refresh" in message
    assert other.calls == [] and snapshot(out) == before  # nothing sent, nothing rewritten

    refreshed = collect_quietly(other, images, out, PSM6, refresh=True)
    assert refreshed.collected == 4 and {raw["setting"] for raw in stored(out).values()} == {"psm6"}
    again = Answering("psm6")
    assert collect_quietly(again, images, out, PSM6).reused == 4 and again.calls == []
    with pytest.raises(InputError, match="holds fake results collected with psm=6; this run asks psm=11"):
        collect_quietly(Answering("psm11"), images, out, PSM11)


def test_an_interrupted_refresh_is_finished_by_the_next_run_with_the_new_settings(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 5)
    out = tmp_path / "out"
    collect_quietly(Answering("psm11"), images, out, PSM11)
    collect_quietly(Answering("psm6"), images, out, PSM6, refresh=True, limit=2)  # stopped after two images
    rest = Answering("psm6")
    summary = collect_quietly(rest, images, out, PSM6)
    assert len(rest.calls) == 3 and (summary.reused, summary.collected) == (2, 3)
    assert {raw["setting"] for raw in stored(out).values()} == {"psm6"}  # no psm 11 answer leaks in


def test_records_from_before_fingerprints_count_as_matching_and_it_is_said_once(tmp_path, caplog):
    images, _, _ = make_set(tmp_path / "data", 3)
    out = tmp_path / "out"
    collect_quietly(Answering("psm11"), images, out, request=None)  # what an older version wrote: no settings
    assert all("request" not in entry for entry in journal_lines(out / "fake.journal.jsonl"))
    quiet = Answering("psm6")
    with caplog.at_level("WARNING", logger="bench"):
        summary = collect_quietly(quiet, images, out, PSM6)
    assert summary.reused == 3 and quiet.calls == []
    warnings = [r.getMessage() for r in caplog.records if "before the journal recorded request settings" in r.getMessage()]
    assert len(warnings) == 1 and "3 record(s)" in warnings[0] and "--refresh" in warnings[0]


def test_the_fingerprint_holds_every_option_of_every_provider_with_its_defaults(tmp_path):
    for spec in registry.all_specs():
        config = ProviderConfig(spec.name, "https://user:pw@ocr.example.com:8443/v1/ocr?key=K-123456789#frag",
                                Secret("K-123456789"))
        given = Settings(extra={name: "x" for name in spec.required})
        fingerprint = request_fingerprint(spec, config, given)
        assert fingerprint["provider"] == spec.name
        assert fingerprint["endpoint"] == "https://ocr.example.com:8443/v1/ocr"  # no user, key, query
        assert set(fingerprint["options"]) == set(spec.options)
        for name, default in spec.defaults.items():  # a default may be a function of the other settings
            expected = spec.settings(given).get(name) if callable(default) else (given.get(name) or default)
            assert fingerprint["options"][name] == expected
        if spec.engine is not None and spec.engine.version():
            assert fingerprint["engine_version"] == spec.engine.version()
    tesseract = request_fingerprint(registry.get("tesseract"), ProviderConfig("tesseract"), Settings(psm=6))
    assert tesseract["options"] == {"lang": "kor+eng", "psm": 6}


def test_engine_version_counts_only_when_both_sides_know_it():
    old = {"provider": "t", "engine_version": "4.1.1", "options": {"psm": 11}}
    assert differences(old, {**old, "engine_version": "5.3.0"}) == [("engine_version", "4.1.1", "5.3.0")]
    assert differences(old, {"provider": "t", "options": {"psm": 11}}) == []
    assert public_endpoint("http://[::1]:9/x?api-version=1", ()) == "http://[::1]:9/x"
    assert public_endpoint("https://h/v1/K-123456789/ocr", ("K-123456789",)) == "https://h/v1/***/ocr"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")
def test_tesseract_psm_11_then_psm_6_on_one_out_is_refused_naming_both(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 3)
    out = tmp_path / "out"
    first = run_bench(quiet_collect_args("tesseract", images, out, "--psm", "11"), tmp_path, bench_env(), timeout=120)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    second = run_bench(quiet_collect_args("tesseract", images, out, "--psm", "6"), tmp_path, bench_env(), timeout=120)
    assert second.returncode == 2, second.stderr
    assert "holds tesseract results collected with psm=11; this run asks psm=6" in second.stderr
    assert "--refresh" in second.stderr and "Traceback" not in second.stderr
    assert snapshot(out) == before
    refreshed = run_bench(quiet_collect_args("tesseract", images, out, "--psm", "6", "--refresh"), tmp_path, bench_env(),
                          timeout=120)
    assert refreshed.returncode == 0, refreshed.stderr
    assert {raw["psm"] for raw in stored(out, "tesseract").values()} == {6}
    assert all(e["request"]["options"] == {"lang": "kor+eng", "psm": e["raw"]["psm"]}
               for e in journal_lines(out / "tesseract.journal.jsonl"))


@pytest.mark.slow
def test_another_endpoint_is_other_settings(tmp_path):
    images, gt, _ = make_set(tmp_path / "data", 2)
    out = tmp_path / "out"
    with Emulator("jenti", GtAnswers(gt)) as one, Emulator("jenti", GtAnswers(gt)) as two:
        first = run_bench(quiet_collect_args("jenti", images, out), tmp_path, bench_env(JENTI_OCR_URL=one.url + "?k=1"))
        assert first.returncode == 0, first.stderr
        moved = run_bench(quiet_collect_args("jenti", images, out), tmp_path, bench_env(JENTI_OCR_URL=two.url))
        assert two.requests == []
        urls = one.url, two.url
    assert moved.returncode == 2
    assert f"endpoint={urls[0]}; this run asks endpoint={urls[1]}" in moved.stderr  # the query string is not kept


# --- 2. a narrower --images rewrites the outputs with only this run's images ----------------------

def test_a_narrower_images_folder_keeps_everything_collected_in_out(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 6)
    out = tmp_path / "out"
    collect_quietly(Answering(), images, out, PSM11)
    narrow = tmp_path / "narrow"
    narrow.mkdir()
    for name in ("img_001.png", "img_004.png"):
        shutil.copy(images / name, narrow / name)
    make_set(tmp_path / "new", 1, prefix="new_")
    shutil.copy(tmp_path / "new" / "images" / "new_000.png", narrow)
    lines: list[str] = []
    provider = Answering()
    summary = collect_quietly(provider, narrow, out, PSM11, lines=lines)
    assert provider.calls == ["new_000"]
    everything = {f"img_{k:03d}" for k in range(6)} | {"new_000"}
    assert set(stored(out)) == everything
    normalized = json.loads((out / "fake.normalized.json").read_text(encoding="utf-8"))
    assert set(normalized["images"]) == everything
    rows = runs_rows(out)
    assert [r["image"] for r in rows[:3]] == ["img_001", "img_004", "new_000"]  # this run's first, in order
    assert len(rows) == 7 and {r["status"] for r in rows[3:]} == {"reused"}
    assert (summary.collected, summary.reused, summary.earlier) == (1, 2, 4)
    assert lines[-1].endswith("the outputs hold 7 images: 3 of this run, 4 more from earlier runs")


def test_outputs_of_other_settings_are_not_mixed_in(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 4)
    out = tmp_path / "out"
    collect_quietly(Answering("psm11"), images, out, PSM11)
    narrow = tmp_path / "narrow"
    narrow.mkdir()
    shutil.copy(images / "img_000.png", narrow)
    collect_quietly(Answering("psm6"), narrow, out, PSM6, refresh=True)
    assert stored(out) == {"img_000": {"key": "img_000", "setting": "psm6"}}


# --- 4. write errors -----------------------------------------------------------------------------

def test_out_under_a_regular_file_is_refused_before_anything_is_sent(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 2)
    (tmp_path / "file.txt").write_text("not a folder")
    provider = Answering()
    with pytest.raises(WriteError) as refused:
        collect_quietly(provider, images, tmp_path / "file.txt" / "out", PSM11)
    assert provider.calls == []
    assert str(refused.value) == f"cannot write to {tmp_path / 'file.txt' / 'out'}: Not a directory"
    (tmp_path / "out" / "fake.json").mkdir(parents=True)
    with pytest.raises(WriteError, match="fake.json: it exists and is not a regular file"):
        check_writable(tmp_path / "out", [tmp_path / "out" / "fake.json"])


def _path_of(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _no_space() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_on_the_outputs_leaves_no_tmp_and_keeps_the_journal(tmp_path, monkeypatch):
    images, _, _ = make_set(tmp_path / "data", 3)
    out = tmp_path / "out"
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if _path_of(fd).endswith(".tmp"):
            raise _no_space()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(WriteError) as failed:
        collect_quietly(Answering(), images, out, PSM11)
    assert str(failed.value).startswith(f"cannot write {out / 'fake.json'}: No space left on device; everything "
                                        f"collected is in {out / 'fake.journal.jsonl'}")
    assert not list(out.glob("*.tmp")) and not (out / "fake.json").exists()
    assert len(journal_lines(out / "fake.journal.jsonl")) == 3
    monkeypatch.setattr(os, "fsync", real_fsync)
    again = Answering()
    assert collect_quietly(again, images, out, PSM11).reused == 3 and again.calls == []  # rebuilt, nothing re-sent
    assert len(stored(out)) == 3


def _journal_fills_up_after(appends: int, monkeypatch) -> None:
    """The journal's disk fills up after ``appends`` records: the next record is half written, then ENOSPC."""
    real_write = os.write
    seen = {"calls": 0}

    def write(fd: int, data) -> int:
        if _path_of(fd).endswith(".journal.jsonl"):
            seen["calls"] += 1
            if seen["calls"] == appends + 1:
                return real_write(fd, bytes(data[: len(data) // 2]))
            if seen["calls"] > appends + 1:
                raise _no_space()
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_full_disk_on_the_journal_stops_the_run_and_leaves_no_half_line(tmp_path, monkeypatch):
    images, _, _ = make_set(tmp_path / "data", 8)
    out = tmp_path / "out"
    _journal_fills_up_after(3, monkeypatch)
    provider = Answering()
    with pytest.raises(InputError) as stopped:
        collect_quietly(provider, images, out, PSM11, concurrency=1)
    message = str(stopped.value)
    assert message.startswith(f"cannot write the journal {out / 'fake.journal.jsonl'}: No space left on device: "
                              f"the run stopped, 3 image(s) collected and journaled; 1 answer(s)")
    assert len(provider.calls) == 4  # nothing more was sent once the journal could not keep it
    data = (out / "fake.journal.jsonl").read_bytes()
    assert data.endswith(b"\n") and len(journal_lines(out / "fake.journal.jsonl")) == 3
    assert len(stored(out)) == 3
    monkeypatch.undo()
    rest = Answering()
    assert collect_quietly(rest, images, out, PSM11, concurrency=1).collected == 5 and len(rest.calls) == 5
    assert sorted(e["image"] for e in journal_lines(out / "fake.journal.jsonl")) == [f"img_{k:03d}" for k in range(8)]


@pytest.fixture
def bench_in_process(tmp_path, monkeypatch):
    """`bench ARGS` in this process (so faults can be injected), in tmp_path, with ``env`` set."""
    from bench import app

    monkeypatch.chdir(tmp_path)

    def invoke(args: list[str], **env: str):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return CliRunner().invoke(app, args)

    return invoke


@pytest.mark.slow
def test_cli_write_errors_are_one_line_and_exit_2(tmp_path, monkeypatch, bench_in_process):
    images, gt, _ = make_set(tmp_path / "data", 6)
    (tmp_path / "file.txt").write_text("x")
    real_fsync, real_write = os.fsync, os.write

    def fsync(fd: int) -> None:
        if _path_of(fd).endswith(".tmp"):
            raise _no_space()
        real_fsync(fd)

    with Emulator("jenti", GtAnswers(gt)) as emulator:
        blocked = run_bench(quiet_collect_args("jenti", images, tmp_path / "file.txt" / "out"), tmp_path,
                            bench_env(JENTI_OCR_URL=emulator.url))
        assert emulator.requests == []
        _journal_fills_up_after(2, monkeypatch)
        journal_full = bench_in_process(quiet_collect_args("jenti", images, tmp_path / "j", "--concurrency", "1"),
                                        JENTI_OCR_URL=emulator.url)
        monkeypatch.setattr(os, "write", real_write)
        monkeypatch.setattr(os, "fsync", fsync)
        outputs_full = bench_in_process(quiet_collect_args("jenti", images, tmp_path / "o"), JENTI_OCR_URL=emulator.url)
    assert (blocked.returncode, journal_full.exit_code, outputs_full.exit_code) == (2, 2, 2)
    for stderr, needle in ((blocked.stderr, f"cannot write to {tmp_path / 'file.txt' / 'out'}: "),
                           (journal_full.stderr, f"cannot write the journal {tmp_path / 'j' / 'jenti.journal.jsonl'}: "
                                                 "No space left on device"),
                           (outputs_full.stderr, f"cannot write {tmp_path / 'o' / 'jenti.json'}: "
                                                 "No space left on device")):
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and needle in errors[0], stderr
        assert "Traceback" not in stderr
    assert not list(tmp_path.rglob("*.tmp"))
    assert len(journal_lines(tmp_path / "j" / "jenti.journal.jsonl")) == 2
    assert len(journal_lines(tmp_path / "o" / "jenti.journal.jsonl")) == 6


def test_file_options_are_part_of_the_fingerprint_as_absolute_paths(tmp_path):
    spec = registry.get("rapidocr")
    a = request_fingerprint(spec, ProviderConfig("rapidocr"), Settings(extra={"rec_model": Path("models/kor.onnx")}))
    b = request_fingerprint(spec, ProviderConfig("rapidocr"), Settings(extra={"rec_model": Path("models/other.onnx")}))
    assert a["options"]["rec_model"] == str(Path("models/kor.onnx").absolute())
    assert differences(a, b) == [("rec_model", a["options"]["rec_model"], b["options"]["rec_model"])]
