"""Every page in the pseudo-language (every message accented and 40 % longer than English), as
the teacher and as a student, at a laptop's 1366x768 and a phone's 390x844: no text is cut off,
no two texts overlap, nothing sticks out sideways; and in Arabic the page runs right to left.

Screenshots: test-artifacts/languages/<page>-<role>-<size>.png (look at them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from s2i_core.settings import Settings
from s2i_core.storage import Library
from tests.e2e.app_server import app_server
from tests.e2e.test_accessible import PASSCODE, SIZES, drawn, unlock
from tests.e2e.test_browser import idle, replay_frame, shot
from tests.e2e.test_classroom import seed_story

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "languages"
PAGES = {
    "home": "/",
    "library": "/library",
    "story": "/story?story={drawn}",
    "create": "/create",
    "create-sentences": "/create?draft={draft}",
    "word-list": "/word_list",
}

# Texts a person reads, each checked whole: is it cut off (clipped by its own box or a box around
# it), does it overlap another, does it stick out of the window?
LAYOUT_PROBLEMS = r"""
() => {
  const TEXT = 'button, a, label, h1, h2, h3, p, li, summary, [role="tab"], '
    + '[data-testid="stWidgetLabel"], [data-testid="stCaptionContainer"], '
    + '[data-baseweb="select"] [value], [data-testid="stMarkdownContainer"] span';
  const visible = (e) => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none'
      && e.innerText && e.innerText.trim() && r.right > 0 && r.bottom > 0
      && r.left < innerWidth;  // a closed sidebar lies left of the window
  };
  const name = (e) => `${e.tagName.toLowerCase()} "${e.innerText.trim().slice(0, 50)}"`;
  const problems = [];
  const boxes = [...document.querySelectorAll(TEXT)].filter(visible);
  for (const e of boxes) {
    const s = getComputedStyle(e);
    const clipsX = ['hidden', 'clip', 'scroll', 'auto'].includes(s.overflowX)
      || s.textOverflow === 'ellipsis';
    const clipsY = ['hidden', 'clip'].includes(s.overflowY);
    if ((clipsX && e.scrollWidth > e.clientWidth + 2)
        || (clipsY && e.scrollHeight > e.clientHeight + 2)) {
      problems.push(`cut off: ${name(e)}`);
    }
    const r = e.getBoundingClientRect();
    if (r.right > innerWidth + 1) problems.push(`sticks out: ${name(e)}`);
  }
  // overlaps between texts that are not inside one another
  const leaves = boxes.filter((e) => !boxes.some((o) => o !== e && e.contains(o)));
  for (let i = 0; i < leaves.length; i++) {
    const a = leaves[i].getBoundingClientRect();
    for (let j = i + 1; j < leaves.length; j++) {
      if (leaves[i].contains(leaves[j]) || leaves[j].contains(leaves[i])) continue;
      const b = leaves[j].getBoundingClientRect();
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 3 && h > 3) problems.push(`overlap: ${name(leaves[i])} / ${name(leaves[j])}`);
    }
  }
  // a one-line box's placeholder wider than the box is cut off too
  const ruler = document.createElement('canvas').getContext('2d');
  for (const input of document.querySelectorAll('input[placeholder]')) {
    const box = input.getBoundingClientRect();
    if (box.width < 2 || box.left >= innerWidth || box.right <= 0 || input.value) continue;
    const s = getComputedStyle(input);
    ruler.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    if (ruler.measureText(input.placeholder).width > room + 2) {
      problems.push(`cut off: placeholder "${input.placeholder.slice(0, 50)}"`);
    }
  }
  if (document.documentElement.scrollWidth > innerWidth + 1) problems.push('page scrolls sideways');
  return problems;
}
"""


@pytest.fixture(scope="module")
def school(tmp_path_factory) -> Iterator[tuple[str, dict[str, int]]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data_dir = tmp_path_factory.mktemp("languages")
    with Library(Settings(data_dir=data_dir)) as library:
        stories = {
            "drawn": seed_story(library, "The fox and the balloon", pictures=True),
            "draft": seed_story(library, "A draft about the fox", pictures=False),
        }
    env = {"S2I_TEACHER_PASSCODE": PASSCODE}
    with app_server({"S2I_DATA_DIR": str(data_dir), **env}, ARTIFACTS / "streamlit.log") as url:
        yield url, stories


def settle(page: Page, name: str) -> None:
    idle(page)
    if name == "story":
        replay_frame(page).wait_for_function(
            "document.getElementById('replay').dataset.index === '0'"
            " && document.getElementById('picture').complete"
        )
    drawn(page)


def layout_problems(page: Page) -> list[str]:
    found = []
    for frame in page.frames:  # the replay and the recorder draw in frames of their own
        if frame.is_detached() or not frame.evaluate("Boolean(document.body)"):
            continue
        found += [f"{frame.name or 'page'}: {p}" for p in frame.evaluate(LAYOUT_PROBLEMS)]
    return found


@pytest.mark.parametrize("role", ["student", "teacher"])
@pytest.mark.parametrize("size", SIZES)
def test_every_page_in_a_longer_language_fits(browser, school, size, role):
    url, stories = school
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/library")
    idle(page)
    if role == "teacher":
        unlock(page)  # in English, then every page in the pseudo-language
    report = {}
    for name, path in PAGES.items():
        if role == "student" and name.startswith("create"):
            continue  # the passcode form: the word-list page shows it too
        address = url + path.format(**stories)
        page.goto(address + ("&" if "?" in address else "?") + "lang=qps")
        settle(page, name)
        assert page.locator("text=⟦").count() > 0, f"{name} is not in the pseudo-language"
        report[name] = layout_problems(page)  # at the window's own size
        shot(page, ARTIFACTS, f"{name}-{role}-{size}")  # the whole page, to look at
    (ARTIFACTS / f"layout-{role}-{size}.json").write_text(json.dumps(report, indent=2))
    context.close()
    assert {name: found for name, found in report.items() if found} == {}


def test_arabic_runs_right_to_left_and_the_menu_remembers_it(browser, school):
    url, stories = school
    context = browser.new_context(viewport=SIZES["laptop"], locale="en-US")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/library")
    idle(page)
    assert page.evaluate("document.documentElement.lang") == "en"
    menu = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox")
    menu.click()
    page.get_by_role("option", name="العربية").click()
    idle(page)
    page.wait_for_function("document.documentElement.dir === 'rtl'")
    assert page.get_by_role("heading", name="المكتبة").is_visible()
    main = page.get_by_test_id("stAppViewContainer")
    assert main.evaluate("e => getComputedStyle(e).direction") == "rtl"
    page.goto(f"{url}/story?story={stories['drawn']}")
    settle(page, "story")
    replay = replay_frame(page)
    assert replay.evaluate("document.documentElement.dir") == "rtl"
    assert replay.locator("#next").inner_text().startswith("التالية")
    shot(page, ARTIFACTS, "arabic-story-laptop")
    # a new tab of this browser opens in Arabic: the server kept the choice in a cookie
    other = context.new_page()
    other.goto(f"{url}/library")
    idle(other)
    other.wait_for_function("document.documentElement.dir === 'rtl'")
    assert [c["value"] for c in context.cookies() if c["name"] == "s2i_lang"] == ["ar"]
    context.close()
