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


# --- layout in a 1400 px window: the page measures itself -------------------------------------

PROBE = """<script>
window.addEventListener('load', () => {
  const box = el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left,
                                                                    right: r.right, width: r.width}; };
  const out = {inner: [innerWidth, innerHeight], root: document.documentElement.clientWidth, hash: location.hash};
  const headline = document.querySelector('table.headline');
  if (headline) {
    const holder = headline.parentElement;
    out.headline = {scroll: holder.scrollWidth, client: holder.clientWidth, table: box(headline),
                    heads: [...headline.querySelectorAll('thead th')].map(th => th.textContent),
                    rows: [...headline.querySelectorAll('tbody tr')].map(tr => tr.querySelector('th').textContent)};
    out.overflow = [...document.querySelectorAll('#comparison .scroll')].map(d => d.scrollWidth - d.clientWidth);
  }
  const verdict = document.querySelector('.verdict');
  if (verdict) {
    const first = document.querySelector('main section');
    out.verdict = {text: verdict.textContent, box: box(verdict),
                   before_sections: !!(verdict.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING)};
  }
  const zoom = document.querySelector('.zoom');
  if (zoom) {
    const target = location.hash ? document.getElementById(location.hash.slice(1)) : zoom;
    const img = target.querySelector('img');
    out.zoom = {id: target.id, position: getComputedStyle(target).position, box: box(target),
                close: getComputedStyle(target.querySelector('.zoom-close')).display,
                img: {natural: img.naturalWidth, width: img.getBoundingClientRect().width, complete: img.complete},
                column: target.closest('figure').parentElement.clientWidth};
    if (!location.hash) {
      const polygon = target.querySelector('svg.hover polygon');
      polygon.scrollIntoView({block: 'center'});
      const r = polygon.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      out.hover = {polygons: target.querySelectorAll('svg.hover polygon').length,
                   hit: hit ? hit.tagName.toLowerCase() : null,
                   title: hit && hit.querySelector('title') ? hit.querySelector('title').textContent : null};
    }
  }
  document.body.setAttribute('data-probe', JSON.stringify(out));
});
</script>"""


def measure(report_html: Path, tmp: Path, fragment: str = "", window: tuple[int, int] = (1400, 1000)) -> dict:
    """Open a copy of the report with a measuring script (the report itself has none) and read
    what the page measured of itself after it loaded."""
    import html as html_lib
    import json

    copy = tmp / "probe.html"
    copy.write_text(report_html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = run_chromium(tmp, f"--window-size={window[0]},{window[1]}", "--dump-dom", copy.as_uri() + fragment)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, "the page did not measure itself: " + done.stderr[-2000:]
    return json.loads(html_lib.unescape(found.group(1)))


@pytest.mark.slow
def test_headline_table_fits_a_1400_px_window(report_html: Path, tmp_path: Path):
    seen = measure(report_html, tmp_path)
    assert seen["inner"][0] == 1400
    headline = seen["headline"]
    assert headline["scroll"] <= headline["client"], headline  # no horizontal scroll bar
    assert headline["table"]["right"] <= seen["root"], headline
    assert headline["heads"] == ["provider", "e2e H ↑", "CER ↓", "CLEval e2e H ↑", "page CER ↓", "latency p50 / p95 (ms)",
                                 "cost / 1,000 images"]
    assert headline["rows"] == ["exact", "sloppy"]
    assert len(seen["overflow"]) >= 4 and max(seen["overflow"]) <= 0  # nor does any block of the full table


@pytest.mark.slow
def test_verdict_opens_the_page(report_html: Path, tmp_path: Path):
    seen = measure(report_html, tmp_path)
    verdict = seen["verdict"]
    assert verdict["before_sections"] and verdict["box"]["bottom"] < seen["inner"][1]  # on the first screen
    text = verdict["text"]
    assert text.startswith("exact leads on end-to-end quality with e2e H 100.0\u00a0%")
    assert "ahead of the runner-up sloppy" in text and "the intervals do not overlap" in text
    assert "No provider's price is known" in text and "fastest: exact" in text
    assert "The set: 3 images, 6 gt words (+1 don't care)." in text


@pytest.mark.slow
def test_an_overlay_opens_at_full_size_and_shows_texts_on_hover(report_html: Path, tmp_path: Path):
    in_page = measure(report_html, tmp_path)
    zoom = in_page["zoom"]
    assert zoom["position"] != "fixed" and zoom["close"] == "none"
    assert zoom["img"]["complete"] and zoom["img"]["width"] <= zoom["column"]
    hover = in_page["hover"]
    assert hover["polygons"] >= 1 and hover["hit"] == "polygon" and hover["title"], hover
    # in a narrow window the page fits the picture to its column; opened, it is at full size
    narrow = (480, 700)
    small = measure(report_html, tmp_path, window=narrow)["zoom"]
    assert small["img"]["width"] < small["img"]["natural"] and small["img"]["width"] <= small["column"]
    opened = measure(report_html, tmp_path, f"#{zoom['id']}", window=narrow)
    full = opened["zoom"]
    assert full["id"] == zoom["id"] and full["position"] == "fixed" and full["close"] != "none"
    assert full["box"]["left"] == 0 and full["box"]["top"] == 0 and full["box"]["width"] >= opened["root"]
    assert full["img"]["width"] == full["img"]["natural"] > small["img"]["width"]


@pytest.mark.slow
def test_every_picture_is_a_figure_with_a_caption(report_html: Path):
    from html.parser import HTMLParser

    class Pictures(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.figures: list[dict[str, int]] = []
            self.loose = 0

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag == "figure":
                self.figures.append({"img": 0, "figcaption": 0})
            elif tag in ("img", "figcaption"):
                if "figure" in self.stack:
                    self.figures[-1][tag] += 1
                elif tag == "img":
                    self.loose += 1
            if tag not in ("img", "br", "meta", "polygon"):
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass

    found = Pictures()
    found.feed(report_html.read_text(encoding="utf-8"))
    assert found.loose == 0, "every picture sits in a <figure>"
    with_pictures = [f for f in found.figures if f["img"]]
    assert len(with_pictures) >= 9  # headline, sweep, CER, latency, 3 breakdowns, overlays
    assert all(f["figcaption"] == 1 for f in with_pictures)


PRINT_PROBE = """<script>
window.addEventListener('load', () => {
  const css = el => getComputedStyle(el);
  const sections = [...document.querySelectorAll('main section')];
  const cut = [...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right >
                                                                  document.documentElement.clientWidth + 0.5);
  const pinned = [...document.querySelectorAll('body *')].filter(el => ['fixed', 'sticky'].includes(css(el).position));
  const figures = [...document.querySelectorAll('figure')];
  document.body.setAttribute('data-probe', JSON.stringify({
    breaks: sections.map(s => css(s).breakBefore),
    cut: cut.map(t => t.className || t.parentElement.closest('section').id),
    pinned: pinned.length,
    figures: figures.map(f => css(f).breakInside),
    scroll: [...document.querySelectorAll('.scroll')].map(d => css(d).overflowX)}));
});
</script>"""


@pytest.mark.slow
def test_print_layout(report_html: Path, tmp_path: Path):
    """The print style sheet, applied on screen at the width of an A4 page's printable area
    (210 mm - 2 x 12 mm margins = 703 CSS px), measured; and a real PDF comes out."""
    import html as html_lib
    import json

    text = report_html.read_text(encoding="utf-8")
    assert text.count("@media print {") == 1
    copy = tmp_path / "print.html"
    copy.write_text(text.replace("@media print {", "@media all {").replace("</body>", PRINT_PROBE + "</body>"),
                    encoding="utf-8")
    done = run_chromium(tmp_path, "--window-size=703,1000", "--hide-scrollbars", "--dump-dom", copy.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(html_lib.unescape(re.search(r'data-probe="([^"]*)"', done.stdout).group(1)))
    assert seen["breaks"][0] != "page" and set(seen["breaks"][1:]) == {"page"}  # each section after the first
    assert seen["cut"] == []  # every table fits the page's width, each block of the full comparison too
    assert seen["pinned"] == 0  # nothing fixed or sticky
    assert seen["figures"] and set(seen["figures"]) == {"avoid"}  # a figure stays with its caption
    assert set(seen["scroll"]) == {"visible"}
    pdf = tmp_path / "report.pdf"
    done = run_chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report_html.as_uri())
    assert done.returncode == 0 and pdf.is_file(), done.stderr[-2000:]
    assert len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes())) >= len(seen["breaks"])
