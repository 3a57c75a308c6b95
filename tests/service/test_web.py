"""The web page in headless Chromium: like an item, the slate changes and says why; take the
like back, the slate forgets it; type a request in English or Chinese, the slate follows it
and the page shows how it was understood. Also what makes it usable by everyone: accessible
names, announcements, contrast, visible focus, a favicon, Chinese glyphs (not tofu), and no
raw scores. Leaves screenshots in screenshots/: web-demo.png (after a like and requests),
web-en.png and web-zh.png (an English and a Chinese request with an exclusion)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessionrec.engine import Engine
from sessionrec.service.app import create_app
from sessionrec.service.settings import ServiceSettings
from sessionrec.store import open_store
from sessionrec.testing import films
from sessionrec.testing.service import running_server

pytestmark = [pytest.mark.browser, pytest.mark.service]

CHROMIUM = os.environ.get("SESSIONREC_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
TIMEOUT_MS = 20_000
BLOOD_MANOR = "12"  # a horror film of the synthetic catalogue

Page = Any  # playwright.sync_api.Page; playwright is a dev dependency without stubs here


@pytest.fixture
def base_url(tiny_artifact: Path, tmp_path: Path) -> Iterator[str]:
    settings = ServiceSettings(artifact=tiny_artifact, store_url=f"sqlite:///{tmp_path / 's.db'}")
    store = open_store(settings.store_url)
    app = create_app(settings, Engine.from_artifact(tiny_artifact), store)
    with running_server(app) as base:
        yield base
    store.close()


@pytest.fixture
def page(base_url: str) -> Iterator[Page]:
    """The page loaded in headless Chromium with its first slate; records console errors
    and failed responses in `page.problems` (each test ends by asserting there are none)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; `make system-deps` installs it")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 900})
            tab.set_default_timeout(TIMEOUT_MS)
            problems: list[str] = []
            tab.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            tab.on(
                "response",
                lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
            )
            tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            tab.problems = problems
            tab.goto(base_url)
            tab.wait_for_selector("body[data-ready='1']")
            tab.wait_for_selector('[data-testid="slate-item"]')
            yield tab
        finally:
            browser.close()


def slate_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        '[data-testid="slate-item"]', "nodes => nodes.map(n => n.dataset.itemId)"
    )
    return ids


def slate_version(page: Page) -> str:
    return str(page.get_attribute('[data-testid="slate"]', "data-version"))


def wait_for_new_slate(page: Page, version: str) -> None:
    page.wait_for_function(
        f"document.querySelector('[data-testid=slate]').dataset.version !== '{version}'",
        timeout=TIMEOUT_MS,
    )


def ask(page: Page, text: str) -> None:
    """Type a request and wait for the slate that follows it."""
    version = slate_version(page)
    page.fill('[data-testid="request-input"]', text)
    page.click('[data-testid="request-submit"]')
    wait_for_new_slate(page, version)


def chips(page: Page) -> list[str]:
    texts: list[str] = page.locator('[data-testid="understood-chip"]').all_inner_texts()
    return [" ".join(t.split()) for t in texts]


def find_in_catalogue(page: Page, title: str, item_id: str) -> Any:
    page.fill('[data-testid="search-input"]', title)
    page.click('[data-testid="search-submit"]')
    card = page.locator(f'[data-testid="catalogue-item"][data-item-id="{item_id}"]')
    card.wait_for()
    return card


def save_screenshot(page: Page, name: str, tmp_path: Path) -> None:
    """A full-page screenshot, written to tmp first and copied once the test has passed."""
    page.evaluate("document.getElementById('catalogue').scrollTop = 0")
    page.mouse.move(0, 0)  # no hover styles in the picture
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOTS / name)


def test_like_then_request_updates_the_slate(page: Page, tmp_path: Path) -> None:
    before = slate_ids(page)
    assert len(before) == 10

    liked = find_in_catalogue(page, "Blood Manor", BLOOD_MANOR)
    version = slate_version(page)
    liked.locator('[data-testid="like-button"]').click()
    wait_for_new_slate(page, version)
    after_like = slate_ids(page)
    assert after_like != before
    assert BLOOD_MANOR not in after_like  # seen items are not suggested again
    reasons = page.locator('[data-testid="reason"]').all_inner_texts()
    assert any("Blood Manor" in text for text in reasons), reasons
    assert all(text[:1].isupper() and text.endswith(".") for text in reasons), reasons
    page.wait_for_selector('[data-testid="event"][data-type="like"]')
    page.wait_for_selector('[data-testid="interest-bar"]')

    ask(page, "an animated cartoon film for children")
    steered = slate_ids(page)
    genres = films.genre_of()
    animated = sum(genres.get(i) == "Animation" for i in steered)
    assert animated >= 7, [genres.get(i) for i in steered]
    assert page.locator('[data-testid="reason"][data-kind="request"]').count() > 0
    assert "Animation" in page.locator('[data-testid="request-understood"]').inner_text()

    # A Chinese request with an exclusion, after a liked horror film: no horror.
    ask(page, "不要恐怖片")
    refused = slate_ids(page)
    assert refused and not any(genres.get(i) == "Horror" for i in refused), refused
    assert "not Horror" in chips(page)
    ask(page, "an animated cartoon film for children")

    assert page.locator('[data-testid="status"]').inner_text() == ""
    save_screenshot(page, "web-demo.png", tmp_path)
    assert page.problems == []


def test_requests_with_exclusions_show_what_was_understood(page: Page, tmp_path: Path) -> None:
    genres = films.genre_of()
    year = {i: 1990 + int(i) % 30 for i in genres}  # the synthetic catalogue's years

    ask(page, "a horror film from the 2000s, no comedy")
    english = slate_ids(page)
    assert english, page.locator('[data-testid="request-understood"]').inner_text()
    assert all(genres[i] == "Horror" and 2000 <= year[i] <= 2009 for i in english), english
    assert chips(page) == ["Horror", "not Comedy", "year 2000–2009"]
    first = page.locator('[data-testid="slate-item"]').first
    facts = first.locator(".facts").inner_text()
    assert "Horror" in facts and str(year[english[0]]) in facts
    save_screenshot(page, "web-en.png", tmp_path)

    ask(page, "不要恐怖片")
    chinese = slate_ids(page)
    assert len(chinese) == 10
    assert not any(genres[i] == "Horror" for i in chinese), chinese
    assert chips(page) == ["not Horror"]
    assert "不要恐怖片" in page.locator('[data-testid="request-active"]').inner_text()
    assert_renders_chinese(page, '[data-testid="request-active"] q')
    save_screenshot(page, "web-zh.png", tmp_path)
    assert page.problems == []


def assert_renders_chinese(page: Page, selector: str) -> None:
    """The element's Chinese text is drawn by a CJK font, not as tofu boxes: Chromium names
    the platform fonts it used for the node, and two different characters drawn in the
    element's font give different pixels (tofu boxes are all alike)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    assert any("CJK" in font["familyName"] for font in used), (
        f"no CJK font drew {selector}: {used} (install Debian's fonts-noto-cjk)"
    )
    differ = page.eval_on_selector(
        selector,
        """node => {
            const font = getComputedStyle(node).font;
            const pixels = (ch) => {
                const canvas = document.createElement("canvas");
                canvas.width = canvas.height = 40;
                const ctx = canvas.getContext("2d");
                ctx.font = font.replace(/\\d+(\\.\\d+)?px/, "32px");
                ctx.fillText(ch, 2, 34);
                return Array.from(ctx.getImageData(0, 0, 40, 40).data);
            };
            const a = pixels("不"), b = pixels("恐");
            return a.some((v, i) => v !== b[i]) && a.some((v) => v !== 0);
        }""",
    )
    assert differ, "Chinese characters render as identical boxes (tofu)"


def feedback_button(page: Page, item_id: str, kind: str) -> Any:
    return page.locator(
        f'[data-testid="catalogue-item"][data-item-id="{item_id}"] [data-testid="{kind}-button"]'
    )


def test_an_interest_is_named_only_on_items_of_its_category(page: Page) -> None:
    """A "for Horror" tag on a comedy claims what does not hold: the tag says which interest an
    item serves, and only where the item has the category the interest is named by (as the
    reasons' own rule, decided by the service: `explain.interest_tags`)."""
    liked = find_in_catalogue(page, "Blood Manor", BLOOD_MANOR)
    version = slate_version(page)
    liked.locator('[data-testid="like-button"]').click()
    wait_for_new_slate(page, version)
    cards = page.locator('[data-testid="slate-item"]')
    labelled = 0
    for n in range(cards.count()):
        card = cards.nth(n)
        tags = card.locator(".tag").all_inner_texts()
        for chip in card.locator(".slate-interest").all_inner_texts():
            label = chip.removeprefix("for ")
            assert label.startswith("things like ") or label in tags, (chip, tags)
            labelled += 1
    genres = films.genre_of()
    horror = sum(genres.get(i) == "Horror" for i in slate_ids(page))
    assert labelled == horror > 0  # every horror film on the slate serves the interest
    assert page.problems == []


def test_a_like_shows_it_is_pressed_and_can_be_undone(page: Page) -> None:
    initial = slate_ids(page)
    find_in_catalogue(page, "Blood Manor", BLOOD_MANOR)
    like = feedback_button(page, BLOOD_MANOR, "like")
    assert like.get_attribute("aria-pressed") == "false"
    assert like.get_attribute("aria-label") == "Like Blood Manor"

    version = slate_version(page)
    like.click()
    wait_for_new_slate(page, version)
    liked = slate_ids(page)
    assert liked != initial
    assert like.get_attribute("aria-pressed") == "true"
    assert like.get_attribute("aria-label") == "Undo like of Blood Manor"
    assert like.inner_text().strip().endswith("Liked")
    announcement = page.locator('[data-testid="slate-announcement"]')
    assert announcement.inner_text() == "Liked Blood Manor. 10 suggestions updated."
    assert page.locator('[data-testid="event"][data-type="like"]').count() == 1

    version = slate_version(page)
    like.click()  # pressing a pressed like takes it back
    wait_for_new_slate(page, version)
    undone = slate_ids(page)
    assert like.get_attribute("aria-pressed") == "false"
    assert like.get_attribute("aria-label") == "Like Blood Manor"
    assert announcement.inner_text() == "Removed your like of Blood Manor. 10 suggestions updated."
    assert page.locator('[data-testid="event"]').count() == 0  # the like left the session
    reasons = page.locator('[data-testid="reason"]').all_inner_texts()
    assert not any("Blood Manor" in text for text in reasons), reasons
    # Back to a session without the like: what the like pulled in is gone again.
    horror = set(films.ids_of("Horror"))
    assert len(horror & set(undone)) < len(horror & set(liked)), (initial, liked, undone)
    assert len(set(undone) & set(initial)) > len(set(undone) & set(liked)), (initial, undone)

    # A dislike replaces a like, and is undone the same way.
    dislike = feedback_button(page, BLOOD_MANOR, "dislike")
    like.click()
    dislike.click()
    page.wait_for_selector('[data-testid="event"][data-type="dislike"]')
    assert dislike.get_attribute("aria-pressed") == "true"
    assert dislike.get_attribute("aria-label") == "Undo dislike of Blood Manor"
    assert like.get_attribute("aria-pressed") == "false"
    types = page.locator('[data-testid="event"]').evaluate_all("ns => ns.map(n => n.dataset.type)")
    assert types == ["dislike"]
    assert page.problems == []


# The WCAG contrast of every visible text against the background it is drawn on (the first
# opaque background up the tree, translucent ones composited over it).
CONTRAST_JS = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const luminance = (rgb) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(rgb[0]) + 0.7152 * f(rgb[1]) + 0.0722 * f(rgb[2]);
  };
  const background = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let out = [255, 255, 255];
    for (const c of layers.reverse()) out = out.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
    return out;
  };
  const results = [];
  for (const node of document.querySelectorAll("body *")) {
    if (node.closest("svg") || node.closest(".visually-hidden")) continue;
    const own = [...node.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const isField = node.tagName === "INPUT" && node.value;
    if (!own && !isField) continue;
    const style = getComputedStyle(node);
    const box = node.getBoundingClientRect();
    if (style.visibility === "hidden" || box.width === 0 || box.height === 0) continue;
    const bg = background(node);
    const fgRaw = parse(style.color);
    const fg = fgRaw.slice(0, 3).map((v, i) => v * fgRaw[3] + bg[i] * (1 - fgRaw[3]));
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    results.push({ text: (node.value || node.textContent).trim().slice(0, 40),
                   tag: node.tagName, cls: node.className, ratio: (hi + 0.05) / (lo + 0.05) });
  }
  return results;
}"""


def test_page_is_accessible_and_shows_no_raw_scores(page: Page) -> None:
    # A pressed like, a request and its chips, so every kind of element is on the page.
    find_in_catalogue(page, "Blood Manor", BLOOD_MANOR)
    version = slate_version(page)
    feedback_button(page, BLOOD_MANOR, "like").click()
    wait_for_new_slate(page, version)
    ask(page, "a horror film from the 2000s, no comedy")

    # Every button has an accessible name; the item buttons say which item they act on.
    unnamed = page.eval_on_selector_all(
        "button",
        """bs => bs.filter(b => !((b.getAttribute('aria-label') || '').trim()
               || b.textContent.trim() || (b.title || '').trim())).map(b => b.outerHTML)""",
    )
    assert unnamed == []
    title = page.locator('[data-testid="slate-item"] .title').first.inner_text()
    for name in (f"Like {title}", f"Dislike {title}", f"Open {title}", "Undo like of Blood Manor"):
        assert page.get_by_role("button", name=name, exact=True).count() >= 1, name

    # Slate changes are announced politely to screen readers.
    live = page.locator('[data-testid="slate-announcement"]')
    assert live.get_attribute("aria-live") == "polite"
    assert re.fullmatch(r"\d+ suggestions? updated\.", live.inner_text()), live.inner_text()

    # No raw scores anywhere: no score element, no decimal number in the page's text.
    assert page.locator('[data-testid="score"]').count() == 0
    text = page.locator("body").inner_text()
    assert not re.search(r"\d\.\d\d", text), re.findall(r".{20}\d\.\d\d.{10}", text)

    # WCAG AA contrast (4.5:1) for every visible text, pressed buttons and chips included.
    measured = page.evaluate(CONTRAST_JS)
    assert len(measured) > 50
    classes = " ".join(str(m["cls"]) for m in measured)
    assert "chip" in classes and "tag" in classes and "label" in classes
    low = [m for m in measured if m["ratio"] < 4.5]
    assert low == [], low

    # Focus is visible: moving by keyboard, each focused control is outlined; the skip link
    # comes on screen when focused.
    focused_js = (
        "(() => { const a = document.activeElement, s = getComputedStyle(a);"
        " return [a.dataset.testid || a.className, s.outlineStyle, parseFloat(s.outlineWidth),"
        " a.getBoundingClientRect().top]; })()"
    )
    page.click(".tagline")  # the keyboard goes on from here
    page.keyboard.press("Tab")
    name, style, width, _ = page.evaluate(focused_js)
    assert name == "new-session" and style != "none" and width >= 2, (name, style, width)
    page.keyboard.press("Shift+Tab")
    name, style, width, top = page.evaluate(focused_js)
    assert name == "skip-link" and style != "none" and width >= 2 and top >= 0
    page.locator('[data-testid="slate-item"] [data-testid="click-button"]').first.focus()
    page.keyboard.press("Tab")
    name, style, width, _ = page.evaluate(focused_js)
    assert name == "like-button" and style != "none" and width >= 2, (name, style, width)

    # The favicon is declared and decodes; nothing failed to load (no 404 in the console).
    icon_width = page.evaluate(
        """async () => {
            const link = document.querySelector("link[rel='icon']");
            const img = new Image();
            img.src = link.href;
            await img.decode();
            return img.naturalWidth;
        }"""
    )
    assert icon_width > 0
    assert page.problems == []


def test_an_explanation_is_shown_when_the_slate_has_one(page: Page) -> None:
    """The generative model's sentence, when the engine has one, is shown under the reasons
    (here added to the real response on its way to the page)."""

    def with_explanations(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        for item in body["items"]:
            item["explanation"] = f"a fine pick for tonight ({item['title']})"
        route.fulfill(response=response, json=body)

    page.route("**/recommendations", with_explanations)
    ask(page, "something for tonight")
    shown = page.locator('[data-testid="explanation"]').all_inner_texts()
    titles = page.locator('[data-testid="slate-item"] .title').all_inner_texts()
    assert shown == [f"A fine pick for tonight ({t})." for t in titles]
    assert page.problems == []
