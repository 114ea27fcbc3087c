"""report.html in a real browser (Debian's chromium, headless): it loads from disk with nothing
missing, the tables and figures are in the DOM, and a screenshot shows a page, not a blank."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from adapters.core.schema import ImageResult, Item, ResultSet
from bench import app

runner = CliRunner()
TIMEOUT = 90
WINDOW = (1300, 2600)


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


pytestmark = pytest.mark.skipif(chromium() is None, reason="chromium not found: the browser test needs Debian's "
                                                           "chromium (`make test` installs it; apt-get install chromium)")


def run_chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}", *args]
    env = {**os.environ, "HOME": str(tmp)}
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False)


@pytest.fixture(scope="module")
def report_html(korean_images, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-provider report over the rendered Korean images, with overlays and latencies."""
    root = tmp_path_factory.mktemp("browser")
    exact = {}
    sloppy = {}
    for stem in korean_images.words:
        items = [Item(tuple(map(tuple, w.quad)), w.text) for w in korean_images.care_words(stem)]
        exact[stem] = ImageResult.ok(items)
        sloppy[stem] = ImageResult.ok([replace(items[0], text=items[0].text + "ㅋ")] + items[2:])
    for name, images in (("exact", exact), ("sloppy", sloppy)):
        folder = root / name
        folder.mkdir()
        ResultSet(name, images).save(folder / f"{name}.normalized.json")
        rows = "".join(f"{stem},collected,{100 + 40 * k + (300 if name == 'sloppy' else 0)}\n"
                       for k, stem in enumerate(sorted(images)))
        (folder / f"{name}.runs.csv").write_text("image,status,latency_ms\n" + rows, encoding="utf-8-sig")
    out = root / "report"
    result = runner.invoke(app, ["report", str(root / "exact" / "exact.normalized.json"),
                                 str(root / "sloppy" / "sloppy.normalized.json"), "--txt_gt_dir",
                                 str(korean_images.gt_dir), "--images", str(korean_images.images_dir), "--out", str(out),
                                 "--title", "한국어 OCR 비교 (브라우저 시험)", "--bootstrap", "200", "--no-progress"])
    assert result.exit_code == 0, result.output
    return out / "report.html"


# No browser here, but its fixture builds a whole report (1-2 s) for this one quick check; it
# belongs with the browser tests it guards.
@pytest.mark.slow
def test_page_is_self_contained(report_html: Path):
    text = report_html.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(?!data:|#)', text), "every src/href must be a data URI or an in-page anchor"
    assert "<link" not in text and "@import" not in text and "url(" not in text


@pytest.mark.slow
def test_dom_has_tables_figures_and_links(report_html: Path, tmp_path: Path):
    done = run_chromium(tmp_path, "--dump-dom", report_html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert '<table class="comparison">' in dom
    comparison = dom.split('<table class="comparison">', 1)[1].split("</table>", 1)[0]
    assert "exact" in comparison and "sloppy" in comparison
    assert "한국어 OCR 비교 (브라우저 시험)" in dom
    for section in ("comparison", "iou", "latency", "breakdowns", "worst", "images", "protocol"):
        assert f'id="{section}"' in dom, section
    assert dom.count('src="data:image/png;base64,') >= 7  # headline, sweep, CER, latency, 3 breakdowns
    assert dom.count('src="data:image/jpeg;base64,') >= 2  # overlays of the worst images
    worst = re.findall(r'<figure id="(worst-p\d+-i\d+)">.*?<a href="#(row-p\d+-i\d+)">', dom)
    assert worst, "worst images link to their rows"
    for figure_id, row_id in worst:
        assert f'id="{row_id}"' in dom and f'href="#{figure_id}"' in dom  # and the rows link back
    problems = [line for line in done.stderr.splitlines()
                if "Failed to load resource" in line or "net::ERR_" in line or "Uncaught" in line]
    assert not problems, problems


@pytest.mark.slow
def test_screenshot_shows_the_page(report_html: Path, tmp_path: Path):
    shot = tmp_path / "shot.png"
    done = run_chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                        "--hide-scrollbars", report_html.as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == WINDOW
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 24)
        assert len(colours) > 200, "the screenshot is (nearly) blank"
        white = max(count for count, colour in colours if colour == (255, 255, 255))
        assert white < 0.95 * WINDOW[0] * WINDOW[1]
        # The headline plot's provider colours (first two of the palette) are on screen.
        assert any(colour == (0, 114, 178) for _, colour in colours)
        assert any(colour == (230, 159, 0) for _, colour in colours)
