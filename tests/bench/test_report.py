"""The terminal, markdown and HTML reports; the HTML page checked in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser

import pytest

from decruft.bench.cli import render
from decruft.bench.html import squarify


def test_text_report_shows_ratios_and_the_goal_ratios(result):
    text = render(result, "text")
    assert "-60.0 %" in text  # image size, cold build: optimised = 0.4 x original
    assert "takes 30 % of a cold build" in text
    assert "5.0x faster than one without" in text
    assert "3 of 7 steps re-run" in text
    assert "Optimised, rebuild after a source change re-ran: [5/7] RUN npm run build 3.6 s; [4/7] COPY . . 0.2 s" in text


def test_markdown_is_a_pull_request_table(result):
    text = render(result, "markdown")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| | original | optimised | change |"
    assert any(row.startswith("| image size (uncompressed) | 800.0 MB | 320.0 MB | -60.0 % |") for row in rows)
    assert all(row.count(" | ") == 3 for row in rows), rows


def test_a_failed_side_is_named_with_its_log_tail(failed_result):
    for kind in ("text", "markdown", "html"):
        text = render(failed_result, kind)
        assert "optimised side failed during the cold build" in text
        assert "did not complete successfully: exit code: 2" in text.replace("&quot;", '"')


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.external = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)
        if tag == "link":
            self.external.append(dict(attrs).get("href", "link"))


def test_html_is_self_contained(result):
    page = render(result, "html")
    collector = _Collector()
    collector.feed(page)
    assert collector.external == []
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)", page)
    data = page.split('<script type="application/json" id="bench-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data) == result.to_dict()


def test_html_escapes_what_comes_from_the_image(result):
    page = render(result, "html")
    assert "COPY . . # &lt;script&gt;" in page
    assert page.count("<script") == 2  # the data block and the page's own script, nothing from the image


def test_squarify_fills_the_box_in_proportion():
    values = [500, 300, 120, 50, 20, 10]
    rects = squarify(values, 0, 0, 300, 200)
    areas = [w * h for _x, _y, w, h in rects]
    assert sum(areas) == pytest.approx(300 * 200)
    for value, area in zip(values, areas):
        assert area == pytest.approx(value / sum(values) * 300 * 200)
    for x, y, w, h in rects:
        assert 0 <= x and x + w <= 300 + 1e-6 and 0 <= y and y + h <= 200 + 1e-6
    worst = max(max(w / h, h / w) for _x, _y, w, h in rects)
    assert worst < 4  # squarified, not slices


# ---------------------------------------------------------------------------------- in a real browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _number(text: str) -> float:
    match = re.match(r"([\d,]+(?:\.\d+)?)\s*(B|kB|MB|GB|TB|s|min)?", text)
    assert match, text
    value = float(match.group(1).replace(",", ""))
    scale = {"kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "min": 60}.get(match.group(2) or "", 1)
    return value * scale


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the test extra installs playwright")
    if not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: scripts/setup test installs it", pytrace=False)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.mark.parametrize("fixture", ["result", "failed_result"])
def test_html_renders_without_errors_and_shows_the_json_numbers(browser, request, tmp_path, fixture):
    bench = request.getfixturevalue(fixture)
    page_file = tmp_path / "bench.html"
    page_file.write_text(render(bench, "html"))
    expected = json.loads(render(bench, "json"))
    page = browser.new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    requests = []
    page.on("request", lambda req: requests.append(req.url) if not req.url.startswith(("file:", "data:")) else None)
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    assert problems == []
    assert requests == []  # works offline: nothing is fetched
    assert page.evaluate("document.documentElement.getAttribute('data-bench-schema')") == "decruft-bench/1"
    cells = page.eval_on_selector_all(
        "#summary td[data-side][data-key]",
        "els => els.map(e => ({side: e.dataset.side, key: e.dataset.key, value: JSON.parse(e.dataset.value), "
        "text: e.textContent}))")
    assert cells, "the summary table is empty"
    checked = 0
    for cell in cells:
        if not cell["side"]:
            continue
        side = expected["sides"][cell["side"]]
        assert cell["value"] == side[cell["key"]], cell
        if cell["value"] is None:
            assert cell["text"] == "-"
            continue
        shown = _number(cell["text"])
        # What is shown is the JSON value rounded for reading (0.1 s, 0.1 MB, whole counts).
        assert shown == pytest.approx(cell["value"], rel=0.0006, abs=0.051), cell
        checked += 1
    assert checked >= (20 if fixture == "result" else 8)
    bars = page.eval_on_selector_all("svg.times g.time", "els => els.map(e => [e.dataset.side, e.dataset.key, +e.dataset.value])")
    for side, key, value in bars:
        assert value == expected["sides"][side][key]
    layers = page.eval_on_selector_all("svg.layers g.layer", "els => els.map(e => [e.dataset.side, +e.dataset.index, +e.dataset.bytes])")
    assert layers == [[name, layer["index"], layer["size_bytes"]]
                      for name, side in expected["sides"].items() for layer in side["layer_sizes"]]
    if fixture == "result":
        assert len(bars) == 14
        assert page.locator("svg.treemap rect.cell").count() == 10
        # The legend filters the treemap; clicking must not raise.
        page.locator(".legend-item[data-class='toolchain']").first.click()
        assert page.locator("svg.treemap.dimmed rect.cell.on").count() == 1
        assert problems == []
    page.close()


def test_treemap_cells_beyond_the_limit_fold_into_other_keeping_the_total():
    from decruft.bench.imageview import fold_cells

    cells = {(f"usr/lib/d{i}", "-"): [1000 - i, 1] for i in range(10)}
    cells[("app", "docs")] = [5, 2]
    cells[("etc/empty", "-")] = [0, 3]
    folded = fold_cells(cells, limit=4)
    assert [c.directory for c in folded[:4]] == ["usr/lib/d0", "usr/lib/d1", "usr/lib/d2", "usr/lib/d3"]
    others = {c.directory: c for c in folded[4:]}
    assert set(others) == {"app/(other)", "usr/(other)"}
    assert sum(c.bytes for c in folded) == sum(v[0] for v in cells.values())
    assert others["usr/(other)"].files == 6
