"""The docs' "Adding a provider" and "Adding a metric" examples (docs/architecture.md), run exactly as printed."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import eval.metrics as table
from adapters.providers import registry
from adapters.providers.results import load_results
from eval.evaluate import EvalOptions, evaluate
from gt.reader import read_annotations
from reports.compare import comparison_columns
from reports.eval_tables import per_image_rows

from collect_support import bench_env, make_set, run_bench

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
SAMPLE = ROOT / "samples" / "kr_docs_mini"


def example(name: str) -> str:
    """The fenced code between ``<!-- example-NAME -->`` and ``<!-- /example-NAME -->``."""
    match = re.search(rf"<!-- example-{name} -->\n```python\n(.*?)```\n<!-- /example-{name} -->", README, re.S)
    assert match, f"docs/architecture.md has no example-{name} block"
    return match.group(1)


@pytest.fixture
def provider_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "lineocr_example.py").write_text(example("provider"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.setenv(registry.EXTRA_MODULES_VARIABLE, "lineocr_example")
    registry._specs.cache_clear()
    yield plugins
    registry._specs.cache_clear()


ANSWER = {"lines": [{"text": "출입구", "quad": [10, 10, 90, 10, 90, 40, 10, 40]}]}


def test_the_readme_provider_registers_and_parses_its_answers(provider_module):
    spec = registry.get("lineocr")
    assert "lineocr" in registry.names(registry.WEB)
    assert spec.looks_like(ANSWER) and not spec.looks_like({"result": []})
    [item] = spec.parse(ANSWER).items
    assert item.text == "출입구" and item.polygon[2] == (90.0, 40.0) and item.granularity == "line"


class _LineOcr(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps(ANSWER, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_the_readme_provider_collects_through_bench_collect(provider_module, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LineOcr)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        images, gt, _ = make_set(tmp_path / "set", 2)
        env = bench_env(BENCH_PROVIDER_MODULES="lineocr_example",
                        LINEOCR_URL=f"http://127.0.0.1:{server.server_port}/ocr")
        env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{provider_module}"
        done = run_bench(["collect", "--provider", "lineocr", "--images", str(images), "--out",
                          str(tmp_path / "out"), "--no-progress"], tmp_path, env)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    results = load_results(tmp_path / "out" / "lineocr.json")
    assert results.provider == "lineocr"
    assert [item.text for result in results.images.values() for item in result.items] == ["출입구", "출입구"]


def test_the_readme_metric_is_one_entry_seen_by_every_output(monkeypatch):
    entry = eval(example("metric").rstrip().rstrip(","), vars(table))  # noqa: S307 - our own README
    monkeypatch.setattr(table, "METRICS", table.METRICS + (entry,))
    evaluation = evaluate(read_annotations(SAMPLE / "gt").images, load_results(SAMPLE / "res").images, EvalOptions())
    total = evaluation.totals(0)
    expected = (total.gt_care - total.tp) / total.gt_care
    assert table.summary(total)["detection"]["miss_rate"] == expected
    assert per_image_rows(evaluation)[0]["det_miss_rate"] is not None
    assert {"det_miss_rate", "det_miss_rate_ci_low", "det_miss_rate_ci_high"} <= set(comparison_columns())
