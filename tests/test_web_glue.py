"""The registry and emulator pieces the web providers need, tested without a network: optional
secrets, option choices and required options, images recognised by content, key in the query,
Azure's recorded granularity, and the demo leaving out a provider it cannot configure."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from adapters.collection.demo import demo_runs
from adapters.collection.setup import checked_config, settings_for
from adapters.core.credentials import load_config
from adapters.core.errors import ConfigError, InputError
from adapters.emulators.answers import GtAnswers, ImageIndex, RecordedAnswers, check_sources
from adapters.providers import registry
from adapters.providers.registry import Settings

DATA = Path(__file__).resolve().parent / "data" / "provider_samples"


# ---------------------------------------------------------------- credentials and options

def test_an_optional_secret_may_be_unset_but_is_checked_when_set(tmp_path):
    spec = next(s for s in registry.all_specs() if s.secret_optional)
    config = load_config(spec, {}, tmp_path)
    assert config.secret is None and config.url == spec.default_url and config.secrets() == ()
    given = load_config(spec, {spec.secret_variable: "sk-test-0123456789"}, tmp_path)
    assert given.secret is not None and given.secret.reveal() == "sk-test-0123456789"
    with pytest.raises(ConfigError, match="not printable ASCII"):
        load_config(spec, {spec.secret_variable: "sk-키"}, tmp_path)
    required = next(s for s in registry.all_specs() if s.secret_variable and not s.secret_optional)
    with pytest.raises(ConfigError, match=f"{required.secret_variable} is missing or empty"):
        load_config(required, {required.url_variable: "http://127.0.0.1:9/ocr"}, tmp_path)


def test_option_choices_are_checked_before_anything_else():
    assert settings_for("google", feature="document") == Settings(extra={"feature": "document"})
    assert settings_for("azure", granularity="word", lang="ko") == Settings(lang="ko", extra={"granularity": "word"})
    with pytest.raises(InputError, match="--feature 'dense': google takes text or document"):
        settings_for("google", feature="dense")
    with pytest.raises(InputError, match="--granularity applies to azure only, not google"):
        settings_for("google", granularity="word")
    with pytest.raises(InputError, match="--model applies to upstage and openai, not azure"):
        settings_for("azure", model="x")


def test_a_required_option_is_named_before_credentials_are_read(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InputError, match="^openai needs --model: the chat model"):
        checked_config("openai", settings_for("openai", prompt="Read it."))
    config = checked_config("openai", settings_for("openai", model="gpt-4o-mini"))
    assert config.secret is None
    spec = registry.get("openai")
    assert spec.missing_options() == ("model",) and spec.missing_options(Settings(extra={"model": "m"})) == ()
    assert spec.settings().get("prompt") and not spec.geometry


def test_the_demo_leaves_out_a_provider_whose_required_option_it_cannot_choose(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for spec in registry.all_specs():
        for variable in (spec.url_variable, spec.secret_variable):
            if variable:
                monkeypatch.delenv(variable, raising=False)
    said: list[str] = []
    runs = demo_runs(said.append)
    assert "openai: needs --model, left out of the demo" in said
    assert {run.provider for run in runs} == {spec.name for spec in registry.all_specs() if not spec.is_web and spec.demo}


def test_concurrency_help_names_the_providers_that_differ():
    assert registry.concurrency_help().startswith("4; ")
    assert "upstage: 3" in registry.concurrency_help() and "tesseract: CPU count" in registry.concurrency_help()


def test_a_spec_refuses_choices_or_required_options_it_does_not_take():
    spec = registry.get("google")
    with pytest.raises(ValueError, match="choices for options it does not take"):
        type(spec)(**{**spec.__dict__, "choices": {"model": ("a",)}})
    with pytest.raises(ValueError, match="required for options it does not take"):
        type(spec)(**{**spec.__dict__, "required": ("model",)})


# ---------------------------------------------------------------- the emulators' wire pieces

def test_key_in_the_query_is_passed_only_to_wires_that_read_it():
    vision = registry.get("google").emulation
    secret = "vision-key-0123456789"
    assert vision.auth_query and vision.is_authorized({}, secret, {"key": secret})
    assert not vision.is_authorized({}, secret, {"key": "nope"})
    chat = registry.get("openai").emulation
    assert not chat.auth_query and not chat.is_authorized({}, secret, {"key": secret})
    assert chat.is_authorized({"Authorization": f"Bearer {secret}"}, secret, {})


def test_client_paths_and_names_of_the_new_wires():
    emulations = {spec.name: spec.emulation for spec in registry.emulated()}
    assert emulations["azure"].client_path == "" and emulations["openai"].client_path == "/v1"
    assert emulations["upstage"].client_path is None and emulations["upstage"].sends_name
    assert [name for name, e in emulations.items() if not e.sends_name] == ["google", "azure", "openai"]
    assert [name for name, e in emulations.items() if e.polling is not None] == ["azure"]
    assert emulations["azure"].check_query({"api-version": "2023-07-31"}).kind == "body"
    assert emulations["azure"].check_query({"api-version": "2024-11-30"}) is None


def _save(path: Path, image: Image.Image, fmt: str, **kwargs) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt, **kwargs)
    return path.read_bytes()


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_images_are_recognised_by_content(tmp_path, caplog):
    folder = tmp_path / "images"
    a = Image.new("RGB", (60, 30), "white")
    a.putpixel((3, 4), (0, 0, 0))
    b = Image.new("RGB", (60, 30), "white")
    b.putpixel((5, 6), (0, 0, 0))
    turned = Image.new("RGB", (40, 20), "white")
    turned.putpixel((1, 1), (9, 9, 9))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: displayed 20 x 40
    tall = Image.new("RGB", (33, 77), "white")
    sent_a = _save(folder / "a.png", a, "PNG")
    _save(folder / "sub" / "b.png", b, "PNG")
    _save(folder / "turned.png", turned, "PNG", exif=exif)
    _save(folder / "tall.jpg", tall, "JPEG", quality=95)
    index = ImageIndex(folder)
    assert index.identify(sent_a) == "a"  # the file as it is
    assert index.identify(_encode(b, "BMP")) == "b"  # another format, same pixels
    assert index.identify(_encode(turned.transpose(Image.Transpose.ROTATE_270), "PNG")) == "turned"  # rotated upright
    assert index.size("turned") == (20, 40)
    assert index.identify(_encode(tall, "JPEG", quality=50)) == "tall"  # re-encoded lossily: the one 33 x 77 image
    with caplog.at_level("WARNING", logger="bench.emulator"):
        assert index.identify(_encode(a, "JPEG", quality=50)) is None  # lossy, and b has its size too
    assert "2 share its size" in caplog.text
    assert index.identify(b"not an image") is None


def test_answer_sources_identify_only_with_the_images_folder(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "a.txt").write_text("1,1,9,1,9,9,1,9,가나\n", encoding="utf-8")
    sent = _save(tmp_path / "images" / "a.png", Image.new("RGB", (20, 10), "white"), "PNG")
    assert GtAnswers(gt).identify(sent) is None
    assert GtAnswers(gt, tmp_path / "images").identify(sent) == "a"
    recorded = tmp_path / "recorded"
    recorded.mkdir()
    assert RecordedAnswers(recorded, tmp_path / "images").identify(sent) == "a"
    check_sources(recorded=recorded, images=tmp_path / "images")  # --images with --recorded is fine now
    with pytest.raises(InputError, match="--images only applies with --gt"):
        check_sources(images=tmp_path / "images", use_engine=True)


# ---------------------------------------------------------------- Azure's granularity in the raw file

def test_azure_records_word_granularity_so_a_raw_answer_reads_back_the_same():
    from adapters.providers import azure

    raw = json.loads((DATA / "azure_read_cafe_sign.json").read_text(encoding="utf-8"))
    words = azure.AzureProvider("https://x.cognitiveservices.azure.com", "k" * 32, granularity="word")
    stored = words.restore(raw, (1.0, 1.0))
    assert stored[azure.GRANULARITY_KEY] == "word" and azure.GRANULARITY_KEY not in raw
    spec = registry.get("azure")
    assert spec.parse(stored).items == azure.parse_words(raw).items == words.parse(stored).items
    assert spec.looks_like(stored)
    assert spec.parse(raw).items == azure.parse(raw, "line").items  # nothing recorded: lines
    assert azure.record_granularity(raw, "line") is raw
    assert azure.parse(stored, "line").items == azure.parse(raw).items  # an explicit choice wins
    with pytest.raises(Exception, match="benchGranularity"):
        azure.parse({**raw, azure.GRANULARITY_KEY: "region"})
