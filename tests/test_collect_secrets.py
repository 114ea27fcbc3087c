"""Trust under faults and bad input, collection part: secrets.

6. a secret shorter than 8 characters is refused as a configuration error (naming the variable,
   never the value), and every form a secret can take when a server echoes it (raw, JSON-escaped
   once or twice, URL-encoded, cut short) is redacted from the journal, outputs and messages.
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus, urlencode

import pytest

from adapters.core.credentials import redact, redact_value, secret_forms
from adapters.core.errors import ConfigError
from adapters.emulators.emulator import Emulator, Faults, GtAnswers
from adapters.providers import registry
from adapters.providers.registry import provider_config
from collect_support import all_output_text, bench_env, journal_lines, make_set, quiet_collect_args, run_bench


REFLECTED = 'Zq9"ref\\lect/ key+%2F&=end-0'


class Reflecting(Emulator):
    """A server whose error bodies echo the request headers back: raw, as JSON and form-encoded."""

    def _error(self, handler, stem, kind, detail="", fault="", headers=None):
        sent = dict(handler.headers.items())
        secret = sent.get("X-OCR-SECRET", "")
        detail = f"{detail} key {secret} / {json.dumps(sent)} / {urlencode(sent)} / {quote(secret)}".strip()
        super()._error(handler, stem, kind, detail, fault, headers)


def _leaks(text: str, secret: str) -> list[str]:
    """The forms of ``secret`` (and long enough starts of them, as a cut message would keep) in ``text``."""
    return [form for form in secret_forms(secret) if form in text or form[:6] in text]


def test_every_form_of_a_secret_is_redacted():
    secret = REFLECTED
    once = json.dumps(secret)[1:-1]
    text = " | ".join([secret, once, json.dumps(once)[1:-1], quote(secret, safe=""), quote_plus(secret),
                       re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe="")),
                       once.replace("/", "\\/"),
                       json.dumps({"k": secret}, ensure_ascii=True)])
    redacted = redact(text, (secret,))
    assert _leaks(redacted, secret) == [] and redacted.count("***") == 8
    assert redact(f"error: the key was {secret[:9]}...", (secret,)) == "error: the key was ***..."  # cut short
    nested = redact_value({"message": [f"x{secret}y"], secret: 1}, (secret,))
    assert nested == {"message": ["x***y"], "***": 1}
    assert _leaks(json.dumps(nested), secret) == []


@pytest.mark.parametrize("spec", [s for s in registry.all_specs() if s.secret_variable], ids=lambda s: s.name)
def test_a_secret_shorter_than_8_characters_is_a_config_error_naming_the_variable(spec, tmp_path):
    environ = {spec.url_variable: "http://127.0.0.1:9/x"} if spec.url_variable else {}
    short = "Ab3$xyz"
    with pytest.raises(ConfigError, match=f"{spec.secret_variable} is shorter than 8 characters") as refused:
        provider_config(spec.name, {**environ, spec.secret_variable: short}, tmp_path)
    assert short not in str(refused.value)
    assert provider_config(spec.name, {**environ, spec.secret_variable: short + "8"}, tmp_path).secret


@pytest.mark.slow
def test_a_server_echoing_the_key_leaks_it_nowhere_in_any_form(tmp_path):
    images, gt, _ = make_set(tmp_path / "data", 3)
    out = tmp_path / "out"
    with Reflecting("naver", GtAnswers(gt), Faults(error_rate=1.0), secret=REFLECTED) as emulator:
        env = bench_env(NAVER_OCR_URL=emulator.url, NAVER_OCR_SECRET=REFLECTED)
        failed = run_bench(quiet_collect_args("naver", images, out, "--max-attempts", "1"), tmp_path, env)
    assert failed.returncode == 5, failed.stderr
    entries = journal_lines(out / "naver.journal.jsonl")
    assert len(entries) == 3 and all("***" in json.dumps(e["raw"]) and "***" in e["record"]["error"] for e in entries)
    with Reflecting("naver", GtAnswers(gt), secret="the-right-one-0123") as emulator:
        rejected = run_bench(quiet_collect_args("naver", images, tmp_path / "auth"), tmp_path,
                             bench_env(NAVER_OCR_URL=emulator.url, NAVER_OCR_SECRET=REFLECTED))
    assert rejected.returncode == 3 and "CLOVA 0002" in rejected.stderr and "***" in rejected.stderr
    for text in (all_output_text(out), all_output_text(tmp_path / "auth"), failed.stdout + failed.stderr,
                 rejected.stdout + rejected.stderr):
        assert _leaks(text, REFLECTED) == []


@pytest.mark.slow
def test_cli_short_secret_stops_before_any_work_without_echoing_it(tmp_path):
    images, gt, _ = make_set(tmp_path / "data", 2)
    with Emulator("naver", GtAnswers(gt), secret="Ab3$xyz") as emulator:
        result = run_bench(quiet_collect_args("naver", images, tmp_path / "out"), tmp_path,
                           bench_env(NAVER_OCR_URL=emulator.url, NAVER_OCR_SECRET="Ab3$xyz"))
        assert emulator.requests == []
    assert result.returncode == 2 and "NAVER_OCR_SECRET is shorter than 8 characters" in result.stderr
    assert "Ab3$xyz" not in result.stderr + result.stdout and not (tmp_path / "out").exists()
