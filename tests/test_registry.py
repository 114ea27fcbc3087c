"""The provider registry: every provider described once, in its own module, and read by everything else.

The generic tests here run over whatever is registered, so a new provider module is checked by
them without editing this file; the fake provider modules show that adding one needs no other file.
"""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from adapters.collection.setup import settings_for
from adapters.core.errors import InputError
from adapters.core.images import image_stem
from adapters.core.schema import Item
from adapters.providers import registry
from adapters.providers.registry import EmulatedRequest, Settings
from adapters.providers.results import detect_provider
from collect_support import bench_env, make_set, run_bench
from reports.prices import price_for

# Whole-number corners: every wire format carries these exactly (Kakao and Light-OCR send integers).
ITEMS = (
    Item(polygon=((10, 20), (110, 20), (110, 60), (10, 60)), text="출입구", confidence=0.9876),
    Item(polygon=((130, 22), (200, 22), (200, 61), (130, 61)), text="EXIT", confidence=0.5),
    Item(polygon=((10, 80), (90, 78), (92, 120), (12, 122)), text="1,000원", confidence=1.0),
)
COMMON_ERRORS = ("url", "auth", "body", "quota", "rate_limit", "method", "too_large", "server", "unavailable")


def shapes(items, geometry: bool = True) -> list[tuple[str, tuple | None]]:
    """Texts and rounded corners; texts alone for a provider whose answers carry no geometry."""
    return [(item.text, tuple((round(x, 3), round(y, 3)) for x, y in item.polygon) if geometry else None)
            for item in items]


WEB_ADDED = ("upstage", "google", "azure", "openai")  # the web providers Korean teams compare today
LOCAL_ADDED = ("rapidocr", "local")  # PP-OCR models through ONNX Runtime, and your own model


def test_the_providers_are_registered_in_listing_order():
    assert registry.names() == ("naver", "kakao", "jenti", "tesseract", *WEB_ADDED, *LOCAL_ADDED)
    assert registry.names(registry.WEB) == ("naver", "kakao", "jenti", *WEB_ADDED)
    assert registry.names(registry.LOCAL) == ("tesseract", *LOCAL_ADDED)
    assert [spec.name for spec in registry.emulated()] == ["naver", "kakao", "jenti", *WEB_ADDED]
    assert [spec.name for spec in registry.engines()] == ["tesseract", "rapidocr"]
    with pytest.raises(InputError, match="unknown provider 'nobody'; expected one of naver, kakao, jenti, tesseract, "
                                         "upstage, google, azure, openai, rapidocr, local"):
        registry.get("nobody")


@pytest.mark.parametrize("spec", registry.all_specs(), ids=lambda spec: spec.name)
def test_every_spec_is_complete(spec):
    assert spec.title and spec.setup_help
    assert spec.price.provider == spec.name and price_for(spec.name) is spec.price
    assert set(spec.option_help) == set(spec.options)
    assert spec.concurrency() >= 1
    assert spec.is_web == (spec.url_variable is not None)
    if not spec.is_web:
        assert spec.secret_variable is None and spec.emulation is None


@pytest.mark.parametrize("spec", registry.emulated(), ids=lambda spec: spec.name)
def test_emulated_bodies_parse_back_to_the_same_items_and_only_their_provider_claims_them(spec):
    request = EmulatedRequest(name="img", stem="img")
    body = json.loads(json.dumps(spec.emulation.success(ITEMS, request, 640, 480)))
    result = spec.parse(body)
    assert result.is_ok and shapes(result.items, spec.geometry) == shapes(ITEMS, spec.geometry)
    assert [other.name for other in registry.all_specs() if other.looks_like(body)] == [spec.name]
    assert detect_provider({"img": body}, "raw.json") == spec.name
    empty = json.loads(json.dumps(spec.emulation.success((), request, 640, 480)))
    assert spec.parse(empty).is_ok and spec.parse(empty).items == ()
    assert detect_provider({"img": empty}, "raw.json") == spec.name


@pytest.mark.parametrize("spec", registry.emulated(), ids=lambda spec: spec.name)
def test_emulated_errors_are_read_as_errors_by_their_parser(spec):
    for kind in COMMON_ERRORS:
        if kind == "auth" and spec.emulation.authorized is None:
            continue  # no auth, so no auth error
        status, body = spec.emulation.error(kind, "detail")
        assert status >= 400, kind
        assert not spec.parse(json.loads(json.dumps(body))).is_ok, kind
    status, body = spec.emulation.bad_image(EmulatedRequest(name="img", stem="img"), "not an image")
    assert not spec.parse(json.loads(json.dumps(body))).is_ok


def test_options_a_provider_does_not_take_are_refused_naming_those_that_do():
    assert settings_for("tesseract", lang="kor", psm=6) == Settings(lang="kor", psm=6)
    assert settings_for("naver", lang="ko", psm=None) == Settings(lang="ko")
    with pytest.raises(InputError, match="--lang applies to naver, tesseract, google and azure, not kakao"):
        settings_for("kakao", lang="ko", psm=None)
    with pytest.raises(InputError, match="--psm applies to tesseract only, not naver"):
        settings_for("naver", lang=None, psm=6)


def test_settings_defaults_come_from_the_spec():
    tesseract = registry.get("tesseract")
    assert tesseract.settings(Settings()) == Settings(lang="kor+eng", psm=11)
    assert tesseract.settings(Settings(psm=0)).psm == 0
    assert registry.get("naver").settings(Settings()).lang is None


def test_prices_come_from_the_provider_modules_and_unknown_providers_say_so():
    assert price_for("Jenti") is registry.get("jenti").price
    unknown = price_for("icdar")
    assert not unknown.known and "no entry for 'icdar'" in unknown.note


def test_one_stem_rule_for_result_keys_and_requests():
    assert image_stem("dir/sub/img.webp") == image_stem("C:\\scans\\img.PNG") == image_stem("img") == "img"
    assert image_stem("anim.gif") == "anim" and image_stem("report.pdf") == "report.pdf"
    assert image_stem("scan.v2.jpg") == "scan.v2" and image_stem(".jpg") == ".jpg"


# --------------------------------------------------------------- a provider added as one module

FAKE_LOCAL = '''
"""A local provider that reads every image as one word: only this module describes it."""
from adapters.core.pricing import Price
from adapters.core.schema import ImageResult, Item
from adapters.providers.base import Attempt, Outcome, Provider, Verdict
from adapters.providers.registry import LOCAL, ProviderSpec


def looks_like(raw):
    return isinstance(raw, dict) and raw.get("engine") == "fakeocr"


def parse(raw):
    return ImageResult.ok([Item(polygon=tuple(map(tuple, raw["box"])), text=raw["text"])])


class FakeProvider(Provider):
    name = "fakeocr"

    def call(self, image, timeout):
        body = {"engine": "fakeocr", "text": "가나다", "box": [[0, 0], [10, 0], [10, 10], [0, 10]]}
        return Attempt(Verdict(Outcome.SUCCESS, body=body), 1.0, len(image.data))

    def parse(self, raw):
        return parse(raw)


PROVIDER = ProviderSpec(
    name="fakeocr", title="FakeOCR", kind=LOCAL, looks_like=looks_like, parse=parse,
    make=lambda config, settings: FakeProvider(),
    price=Price("fakeocr", "local", 0.0, 0.0, "n/a", "made up", "2026-01-01"),
    setup_help="none (a test double)", order=90)
'''

FAKE_WEB = '''
"""A web provider with no emulator yet."""
from adapters.core.pricing import Price
from adapters.providers.registry import WEB, ProviderSpec

PROVIDER = ProviderSpec(
    name="fakeweb", title="FakeWeb", kind=WEB, looks_like=lambda raw: False, parse=lambda raw: None,
    make=lambda config, settings: None, price=Price("fakeweb", "call", None, None, "", "", ""),
    url_variable="FAKEWEB_URL", setup_help="FAKEWEB_URL (the endpoint)", order=95)
'''


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fake_local_provider.py").write_text(textwrap.dedent(FAKE_LOCAL), encoding="utf-8")
    (plugins / "fake_web_provider.py").write_text(textwrap.dedent(FAKE_WEB), encoding="utf-8")
    env = bench_env(BENCH_PROVIDER_MODULES="fake_local_provider,fake_web_provider")
    env["PYTHONPATH"] = os.pathsep.join((env["PYTHONPATH"], str(plugins)))
    return env


@pytest.mark.slow  # starts bench processes
def test_a_new_provider_module_shows_up_in_the_cli_without_editing_any_other_file(tmp_path, fake_env):
    done = run_bench(["collect", "--help"], tmp_path, fake_env)
    assert done.returncode == 0, done.stderr
    assert "<naver|kakao|jenti|tesseract|upstage|google|azure|openai|rapidocr|local|fakeocr|fakeweb>" in done.stdout
    assert "  fakeocr    none (a test double)" in done.stdout
    assert "  fakeweb    FAKEWEB_URL (the endpoint)" in done.stdout


@pytest.mark.slow  # starts bench processes
def test_a_new_provider_module_collects_and_its_results_are_recognised(tmp_path, fake_env):
    images, gt, _ = make_set(tmp_path / "set", 2)
    out = tmp_path / "out"
    done = run_bench(["collect", "--provider", "fakeocr", "--images", str(images), "--out", str(out),
                      "--no-progress"], tmp_path, fake_env)
    assert done.returncode == 0, done.stderr
    scored = run_bench(["eval", "--api_res_json", str(out / "fakeocr.json"), "--txt_gt_dir", str(gt)],
                       tmp_path, fake_env)
    assert scored.returncode == 0, scored.stderr
    assert "fakeocr" in scored.stdout
    refused = run_bench(["collect", "--provider", "fakeocr", "--psm", "6", "--images", str(images),
                         "--out", str(out)], tmp_path, fake_env)
    assert refused.returncode == 2 and "--psm applies to tesseract only, not fakeocr" in refused.stderr


@pytest.mark.slow  # starts bench processes
def test_bench_emulate_of_a_provider_without_an_emulator_is_one_line_and_exit_2(tmp_path, fake_env):
    done = run_bench(["emulate", "fakeweb", "--port", "0"], tmp_path, fake_env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["error: fakeweb has no emulator (emulated providers: naver, kakao, jenti, "
                                        "upstage, google, azure, openai)"]
    assert done.stdout == ""
