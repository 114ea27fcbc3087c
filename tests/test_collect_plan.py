"""The collector's plan, one pure function for a run and for `bench collect --dry-run`, and the
journal read without changing it (what a dry run reads).
"""
from __future__ import annotations

from adapters.collection.collector import (CHANGED, KEPT, NEW, NOT_RETRIED, REFRESHED, RETRIED, CollectOptions,
                                           plan)
from adapters.collection.fingerprint import same_request
from adapters.collection.journal import Journal, read_records
from adapters.core.images import discover
from collect_support import Answering, collect_quietly, make_set, render, write_journal

REQUEST = {"provider": "naver", "options": {"lang": None}}


def test_the_plan_gives_each_image_its_reason_and_limit_holds_back_the_rest(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 7)
    found = discover(images)
    out = tmp_path / "out"
    write_journal(out, "naver", None, ok=found[:3], failed=found[3:5])
    render(found[1].path, "바뀐 글자")  # collected, then changed
    state = Journal(out / "naver.journal.jsonl").load()

    plain = plan(found, state, CollectOptions())
    assert [plain.why[image.key] for image in found] == [KEPT, CHANGED, KEPT, NOT_RETRIED, NOT_RETRIED, NEW, NEW]
    assert [image.key for image in plain.send] == [found[1].key, found[5].key, found[6].key]

    retry = plan(found, state, CollectOptions(retry_failed=True, limit=2))
    assert [image.key for image in retry.send] == [found[1].key, found[3].key]
    assert [image.key for image in retry.held_back] == [found[4].key, found[5].key, found[6].key]
    assert (retry.count(CHANGED), retry.count(RETRIED), retry.count(RETRIED, sent=False), retry.count(NEW, sent=False),
            retry.count(KEPT)) == (1, 1, 1, 2, 2)

    refresh = plan(found, state, CollectOptions(refresh=True))
    assert [refresh.why[image.key] for image in found] == [REFRESHED] * 3 + [RETRIED] * 2 + [NEW] * 2
    assert len(refresh.send) == 7 and not refresh.held_back
    assert plan(found, state, CollectOptions(limit=0)).send == ()


def test_the_collector_sends_what_the_plan_says(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 5)
    out = tmp_path / "out"
    collect_quietly(Answering(), images, out, limit=2)
    render(discover(images)[0].path, "다른 그림")
    state = Journal(out / "fake.journal.jsonl").load()
    planned = plan(discover(images), state, CollectOptions(limit=2))
    provider = Answering()
    collect_quietly(provider, images, out, limit=2)
    assert sorted(provider.calls) == [image.key for image in planned.send]


def test_reading_records_for_a_dry_run_changes_nothing_and_agrees_with_load(tmp_path):
    images, _, _ = make_set(tmp_path / "data", 3)
    found = discover(images)
    path = write_journal(tmp_path / "out", "naver", REQUEST, ok=found[:2], failed=found[2:])
    path.write_bytes(path.read_bytes() + b"garbage\n" + b'{"v": 2, "image": "torn')
    before = path.read_bytes()
    records = read_records(path)
    assert path.read_bytes() == before and records.torn and records.skipped == [4]
    state = records.state(REQUEST, same_request)
    assert set(state.successes) == {found[0].key, found[1].key} and set(state.failures) == {found[2].key}
    loaded = Journal(path).load(REQUEST, same_request)  # the real load cuts the torn line
    assert (set(loaded.successes), set(loaded.failures)) == (set(state.successes), set(state.failures))
    assert read_records(tmp_path / "absent" / "naver.journal.jsonl").entries == []
    assert not (tmp_path / "absent").exists()


