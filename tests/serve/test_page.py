"""The verification page in headless Chromium (Debian's, driven by Playwright; no downloaded
browser): a signed image chosen with the file input and its stripped copy dropped on the page,
the verdicts read off the page, at desktop and phone width, with screenshots kept."""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium")) if p and Path(p).is_file()), None
)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

DROP = """([name, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/jpeg" }));
  document.getElementById("drop").dispatchEvent(
    new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true })
  );
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_page(browser: Any, server: str, *, width: int, problems: list[str]) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(server + "/")
    return page


def wait_until_verified(page: Any, name: str) -> None:
    """Until the status line says the batch is done and the first card is ``name``'s (locators,
    not ``wait_for_function``: the page's CSP forbids the eval that one needs)."""
    expect = playwright_api.expect
    expect(page.locator("#status")).to_have_text(re.compile(r"^Verified \d+ of"), timeout=120_000)
    expect(page.locator("#results section.report h2").first).to_contain_text(name, timeout=120_000)


def verdicts(page: Any) -> list[str]:
    return page.eval_on_selector_all("#results section.report", "s => s.map(x => x.dataset.verdict)")


@pytest.mark.parametrize("width", [1280, 360], ids=["desktop", "phone"])
def test_choose_a_signed_image_then_drop_its_stripped_copy(
    browser: Any, server: str, world: dict[str, Any], tmp_path: Path, width: int
) -> None:
    problems: list[str] = []
    page = open_page(browser, server, width=width, problems=problems)
    page.set_input_files("#file", str(world["signed"]))
    wait_until_verified(page, world["signed"].name)
    assert verdicts(page) == ["hallmark-signed"]
    card = page.locator("#results section.report").first
    assert world["record_id"] in card.inner_text()
    assert card.locator("table tr").count() > 3  # the checks table, one row per check
    assert card.locator("a").first.get_attribute("href") == f"/v1/records/{world['record_id']}/proof"
    page.screenshot(path=str(tmp_path / f"signed-{width}.png"), full_page=True)

    page.evaluate(DROP, ["stripped.jpg", base64.b64encode(world["stripped"].read_bytes()).decode()])
    wait_until_verified(page, "stripped.jpg")
    assert verdicts(page) == ["hallmark-recovered"]
    assert "stripped" in page.locator("#results section.report h2").inner_text()
    # Readable at this width: nothing wider than the window.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(tmp_path / f"recovered-{width}.png"), full_page=True)
    assert (tmp_path / f"recovered-{width}.png").stat().st_size > 1000
    assert not problems, problems  # no script error, no Content-Security-Policy violation


def test_the_file_input_is_reached_with_the_keyboard(browser: Any, server: str) -> None:
    problems: list[str] = []
    page = open_page(browser, server, width=1280, problems=problems)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file"
    assert page.evaluate("document.activeElement.labels[0].textContent") == "Images to verify"
    assert not problems, problems


CONFORMANCE = Path("/work/shared/data/c2pa/images")


@pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason="the C2PA conformance images are not in /work/shared/data"
)
def test_valid_but_untrusted_is_shown_apart_from_invalid(
    browser: Any, server: str, world: dict[str, Any]
) -> None:
    """A conformance image signed with a C2PA test certificate (valid signature, signer on no
    trust list) and one whose signature is broken read differently on the page."""
    problems: list[str] = []
    page = open_page(browser, server, width=1280, problems=problems)
    files = [
        CONFORMANCE / "adobe-20220124-C.jpg",
        CONFORMANCE / "adobe-20220124-E-sig-CA.jpg",
        world["signed"],
    ]
    page.set_input_files("#file", [str(f) for f in files])
    wait_until_verified(page, files[0].name)
    states = page.eval_on_selector_all(
        "#results section.report",
        "s => s.map(x => (x.querySelector('p.credentials') || {dataset: {}}).dataset.state)",
    )
    assert states == ["untrusted", "invalid", "trusted"]
    assert "not on your trust list" in page.locator("#results section.report").first.inner_text()


def test_the_html_report_downloads_from_the_page(
    browser: Any, server: str, world: dict[str, Any], tmp_path: Path
) -> None:
    problems: list[str] = []
    page = open_page(browser, server, width=1280, problems=problems)
    page.set_input_files("#file", str(world["stripped"]))
    wait_until_verified(page, world["stripped"].name)
    assert page.locator("#url-form").is_hidden()  # this server was started without --allow-network
    with page.expect_download(timeout=120_000) as info:
        page.get_by_text("Download the HTML report").click()
    saved = tmp_path / "report.html"
    info.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert "hallmark-recovered" in text and world["record_id"] in text
    assert not problems, problems
