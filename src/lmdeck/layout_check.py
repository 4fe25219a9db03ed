"""Does every slide fit? marp-cli's html export measured in headless Chromium.

The bespoke html holds one `svg > foreignObject > section` per slide; the section is the slide
at its own size (1280 x 720 for 16:9) and the svg scales it to the window. Every element and
text run of a section is measured against the section's box in the section's own coordinates,
so the numbers are CSS pixels of the slide whatever the window size. A slide overflows when its
content runs past the bottom of the content area (into the footer, or off the slide) or past
its right edge; with Marp's vertically centred content an overflow shows at the top too, so
the two are added.

Chromium is the system one (`executable_path`, no browser download) and runs offline: every
request that is not a local file is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Runs in the page: one record per slide. Hidden slides (bespoke shows one at a time through
# `content-visibility`) are laid out by turning the bespoke script off; see `measure`.
MEASURE_JS = """
() => [...document.querySelectorAll("svg > foreignObject > section")].map((section, index) => {
  const box = section.getBoundingClientRect();
  const scale = box.width / section.offsetWidth;  // the svg's viewBox scaling
  const style = getComputedStyle(section);
  const width = section.offsetWidth, height = section.offsetHeight;
  const padTop = parseFloat(style.paddingTop), padBottom = parseFloat(style.paddingBottom);
  const rightLimit = width - parseFloat(style.paddingRight);
  const footer = section.querySelector(":scope > footer");
  let bottomLimit = height - padBottom;
  if (footer && footer.textContent.trim()) {
    bottomLimit = Math.min(bottomLimit, (footer.getBoundingClientRect().top - box.top) / scale);
  }
  let top = Infinity, bottom = -Infinity, right = -Infinity;
  const take = (r) => {
    if (r.width === 0 && r.height === 0) return;
    top = Math.min(top, (r.top - box.top) / scale);
    bottom = Math.max(bottom, (r.bottom - box.top) / scale);
    right = Math.max(right, (r.right - box.left) / scale);
  };
  const skip = (el) => el.closest("footer, header") !== null;
  for (const el of section.querySelectorAll("*")) {
    if (!skip(el)) take(el.getBoundingClientRect());
  }
  // Text can run out of its element (a long unbreakable word): measure the text runs too.
  const walker = document.createTreeWalker(section, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim() || skip(node.parentElement)) continue;
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) take(r);
  }
  const heading = section.querySelector("h1, h2, h3, h4, h5, h6");
  return {
    number: index + 1,
    heading: heading ? heading.textContent.trim() : "",
    width, height, padTop, bottomLimit, rightLimit,
    ...(bottom === -Infinity ? {top: null, bottom: null, right: null} : {top, bottom, right}),
  };
})
"""

TOLERANCE_PX = 1.0  # sub-pixel rounding of the layout


class LayoutError(RuntimeError):
    """Slides overflow (one line each), or the check could not run (no Chromium, no html)."""


@dataclass(frozen=True)
class Overflow:
    number: int
    heading: str
    bottom_px: float  # past the content area's bottom (into the footer / off the slide), top included
    right_px: float  # past the content area's right edge (the slide's padding)

    def line(self) -> str:
        where = []
        if self.bottom_px > TOLERANCE_PX:
            where.append(f"{self.bottom_px:.0f} px past the bottom")
        if self.right_px > TOLERANCE_PX:
            where.append(f"{self.right_px:.0f} px past the right edge")
        return f"slide {self.number} ({self.heading or 'no heading'}): content runs {' and '.join(where)}"


def browser_path() -> str:
    """The system Chromium (lmdeck.export finds the same one for marp-cli's pdf/png)."""
    from lmdeck.export import find_browser

    found = find_browser()
    if found is None:
        raise LayoutError("layout check needs Chromium: install `chromium` (make setup) or set CHROME_PATH")
    return found


def measure(html: Path) -> list[dict]:
    """One record per slide of a marp-cli html export (see MEASURE_JS)."""
    from playwright.sync_api import Error, sync_playwright

    html = Path(html).resolve()
    if not html.is_file():
        raise LayoutError(f"{html}: no such file (export the deck to html first)")
    try:
        with sync_playwright() as p:
            # --no-sandbox: Chromium refuses to start as root (containers, CI) without it; the page is
            # lmdeck's own export, scripts off, every request but local files refused.
            browser = p.chromium.launch(executable_path=browser_path(), args=["--no-sandbox"])
            try:
                # Without page scripts bespoke never hides a slide: all of them are laid out at once.
                page = browser.new_page(viewport={"width": 1280, "height": 720}, java_script_enabled=False)
                page.route(
                    "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
                )
                page.goto(html.as_uri(), wait_until="load")
                page.evaluate("document.fonts.ready")
                return page.evaluate(MEASURE_JS)
            finally:
                browser.close()
    except Error as err:
        raise LayoutError(f"{html}: Chromium could not lay the deck out: {err.message.splitlines()[0]}") from err


def overflows_from(slides: list[dict]) -> list[Overflow]:
    """The slides whose content does not fit, in slide order."""
    found = []
    for s in slides:
        if s["bottom"] is None:
            continue  # an empty slide
        below = max(0.0, s["bottom"] - s["bottomLimit"])
        above = max(0.0, s["padTop"] - s["top"])  # centred content that overflows spills upwards too
        right = max(0.0, s["right"] - s["rightLimit"])
        if below + above > TOLERANCE_PX or right > TOLERANCE_PX:
            found.append(Overflow(s["number"], s["heading"], round(below + above, 1), round(right, 1)))
    return found


def overflows(html: Path) -> list[Overflow]:
    """Every slide of a marp-cli html export whose content does not fit, in slide order."""
    return overflows_from(measure(html))


def check(html: Path) -> int:
    """Raise with one line per overflowing slide; return the number of slides that were checked."""
    slides = measure(html)
    bad = overflows_from(slides)
    if bad:
        lines = "\n".join(o.line() for o in bad)
        raise LayoutError(f"{html}: {len(bad)} of {len(slides)} slides overflow in Chromium:\n{lines}")
    return len(slides)
