"""The web page in headless Chromium: like an item, the slate changes and says why; type a
request, the slate follows it. Leaves a screenshot in screenshots/web-demo.png."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionrec.engine import Engine
from sessionrec.service.app import create_app
from sessionrec.service.settings import ServiceSettings
from sessionrec.store import open_store
from sessionrec.testing import films
from sessionrec.testing.service import running_server

pytestmark = [pytest.mark.browser, pytest.mark.service]

CHROMIUM = os.environ.get("SESSIONREC_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "screenshots" / "web-demo.png"
TIMEOUT_MS = 20_000


@pytest.fixture
def base_url(tiny_artifact: Path, tmp_path: Path) -> Iterator[str]:
    settings = ServiceSettings(artifact=tiny_artifact, store_url=f"sqlite:///{tmp_path / 's.db'}")
    store = open_store(settings.store_url)
    app = create_app(settings, Engine.from_artifact(tiny_artifact), store)
    with running_server(app) as base:
        yield base
    store.close()


def slate_ids(page: object) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined, no-any-return]
        '[data-testid="slate-item"]', "nodes => nodes.map(n => n.dataset.itemId)"
    )


def wait_for_new_slate(page: object, version: str) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        f"document.querySelector('[data-testid=slate]').dataset.version !== '{version}'",
        timeout=TIMEOUT_MS,
    )


def test_like_then_request_updates_the_slate(base_url: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; `make system-deps` installs it")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(base_url)
            page.wait_for_selector("body[data-ready='1']")
            page.wait_for_selector('[data-testid="slate-item"]')
            before = slate_ids(page)
            assert len(before) == 10

            page.fill('[data-testid="search-input"]', "Blood Manor")
            page.click('[data-testid="search-submit"]')
            liked = page.locator('[data-testid="catalogue-item"][data-item-id="12"]')
            liked.wait_for()
            version = page.get_attribute('[data-testid="slate"]', "data-version")
            liked.locator('[data-testid="like-button"]').click()
            wait_for_new_slate(page, str(version))
            after_like = slate_ids(page)
            assert after_like != before
            assert "12" not in after_like  # seen items are not suggested again
            reasons = page.locator('[data-testid="reason"]').all_inner_texts()
            assert any("Blood Manor" in text for text in reasons), reasons
            page.wait_for_selector('[data-testid="event"][data-type="like"]')
            page.wait_for_selector('[data-testid="interest-bar"]')

            version = page.get_attribute('[data-testid="slate"]', "data-version")
            page.fill('[data-testid="request-input"]', "an animated cartoon film for children")
            page.click('[data-testid="request-submit"]')
            wait_for_new_slate(page, str(version))
            steered = slate_ids(page)
            genres = films.genre_of()
            animated = sum(genres.get(i) == "Animation" for i in steered)
            assert animated >= 7, [genres.get(i) for i in steered]
            request_reasons = page.locator('[data-testid="reason"][data-kind="request"]')
            assert request_reasons.count() > 0
            understood = page.locator('[data-testid="request-understood"]')
            assert "Animation" in understood.inner_text()

            # A Chinese request with an exclusion, after a liked horror film: no horror.
            version = page.get_attribute('[data-testid="slate"]', "data-version")
            page.fill('[data-testid="request-input"]', "不要恐怖片")
            page.click('[data-testid="request-submit"]')
            wait_for_new_slate(page, str(version))
            refused = slate_ids(page)
            assert refused and not any(genres.get(i) == "Horror" for i in refused), refused
            assert "not Horror" in understood.inner_text()
            version = page.get_attribute('[data-testid="slate"]', "data-version")
            page.fill('[data-testid="request-input"]', "an animated cartoon film for children")
            page.click('[data-testid="request-submit"]')
            wait_for_new_slate(page, str(version))

            shot = tmp_path / "web-demo.png"
            page.screenshot(path=str(shot), full_page=True)
            assert page.locator('[data-testid="status"]').inner_text() == ""
        finally:
            browser.close()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 10_000
