#!/usr/bin/env python
"""Real-browser check of the built site (`make test-book`, after `make book`).

Serves build/book/ on localhost, drives Debian's chromium (/usr/bin/chromium) with Playwright (the
browser and the pins of tests/browser/check.py), with every request off localhost refused, and checks

  (a) every page opens without a console error or page error (a request to the web counts as an
      error, except MathJax's, which only the pages with equations make: offline their TeX shows);
  (b) every lesson figure (div.lstmlab-plotly) is drawn: an SVG and at least one trace; every
      solution (a cell tagged "solution") is collapsed; every page has the search box;
  (c) the search box (typed into on the first page) finds "forget gate", "padding" and
      "import_onnx" (the last in the API);
  (d) every internal link resolves: the page exists, and so does its #anchor;
  (e) every name in ll.__all__ has a section with its signature and docstring in the API reference.

Usage:  .venv/bin/python tests/browser/book_check.py [--site build/book] [--timeout S]
Prints one line per failed page and a summary; exits 1 on any failure, 2 when it could not run (no
site, no chromium, no playwright), 3 on the overall timeout.
"""

import argparse
import functools
import http.server
import inspect
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from check import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, browser_missing  # noqa: E402 - the same browser as make test-browser

SEARCHES = {"forget gate": None, "padding": None, "import_onnx": "api/interop.html"}  # term: a page it must find
WEB_ALLOWED = ("https://cdn.jsdelivr.net/npm/mathjax",)  # may be asked for, and fail, offline

JS_PAGE = """() => {
  const plots = Array.from(document.querySelectorAll('div.lstmlab-plotly'));
  return {
    figures: plots.length,
    drawn: plots.filter(p => p.querySelector('svg.main-svg') && Array.isArray(p.data) && p.data.length > 0).length,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name')),
    // an API entry: its id, with its docstring (the description holds more than the ll.name line)
    signatures: Array.from(document.querySelectorAll('dt.sig[id]')).filter(dt => {
      const dd = dt.nextElementSibling;
      return dd && dd.children.length > 1 && !/^\s*alias of/m.test(dd.innerText);
    }).map(e => e.id),
    solutions: document.querySelectorAll('.cell.tag_solution').length,
    solutions_shown: Array.from(document.querySelectorAll('.cell.tag_solution')).filter(c => {
      const d = c.querySelector('details'), input = c.querySelector('.cell_input');
      return !d || d.open || (input && input.checkVisibility());
    }).length,
    search_box: !!document.querySelector('form input[name="q"]'),
  };
}"""

JS_SEARCH = """() => Array.from(document.querySelectorAll('#search-results li a')).map(a => a.href)"""


def log(message):
    print(message, flush=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a page left before a file was sent
            super().handle_error(request, client_address)


def serve(site):
    server = QuietServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def public_names():
    import lstmlab as ll

    return [name for name in ll.__all__ if not inspect.ismodule(getattr(ll, name))]


def check(site, base, page, web):
    """Open every page; returns (failures, {page: what it holds}, figures drawn)."""
    failures, seen, figures, errors = [], {}, 0, []
    page.on("console", lambda m: m.type == "error" and not web_only(m) and errors.append(f"{m.text[:300]} ({where(m)})"))
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    paths = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_"))
    for path in paths:
        errors.clear()
        web.clear()
        page.goto(base + path, wait_until="load")
        try:
            page.wait_for_function("() => typeof Plotly === 'undefined' || Array.from(document.querySelectorAll("
                                   "'div.lstmlab-plotly')).every(p => p.querySelector('svg.main-svg'))", timeout=30_000)
        except Exception:  # noqa: BLE001 - the count below says how many
            pass
        page.wait_for_timeout(100)
        found = page.evaluate(JS_PAGE)
        problems = list(errors)
        problems += [f"asked the web for {url}" for url in web if not url.startswith(WEB_ALLOWED)]
        if found["drawn"] < found["figures"]:
            problems.append(f"{found['figures'] - found['drawn']} of {found['figures']} figures not drawn")
        if found["solutions_shown"]:
            problems.append(f"{found['solutions_shown']} of {found['solutions']} solutions shown, not collapsed")
        if not found["search_box"]:
            problems.append("no search box")
        figures += found["drawn"]
        seen[path] = found
        if problems:
            failures.append(f"{path}: " + "; ".join(problems[:6]))
    return failures, seen, figures


def where(message):
    """The file a console message is about (a missing file's address), relative to the site."""
    url = (message.location or {}).get("url", "")
    return url.split("/", 3)[-1] if url.startswith("http://127.0.0.1") else url


def web_only(message):
    """A console error about a resource from the web the site may ask for (MathJax) and not get."""
    url = (message.location or {}).get("url", "")
    return url.startswith(WEB_ALLOWED) or ("net::ERR" in message.text and not url.startswith("http://127.0.0.1"))


def check_links(base, seen):
    failures = []
    for path, found in seen.items():
        for href in found["links"]:
            if not href.startswith(base):
                continue  # the web (Binder, GitHub): not part of the site
            target = urllib.parse.urlsplit(href[len(base):])
            name = urllib.parse.unquote(target.path) or "index.html"
            if name.endswith("/"):
                name += "index.html"
            if name not in seen:
                failures.append(f"{path}: link to {href[len(base):]}: no such page")
            elif target.fragment and urllib.parse.unquote(target.fragment) not in seen[name]["ids"]:
                failures.append(f"{path}: link to {href[len(base):]}: no #{target.fragment} on {name}")
    return failures


def check_search(base, page):
    failures, counts = [], {}
    for term, where in SEARCHES.items():
        page.goto(base + "index.html", wait_until="load")  # as a reader: open the search box, type, Enter
        page.locator("button.search-button-field").first.click()
        box = page.locator('form.bd-search input[name="q"]:visible').first
        box.fill(term)
        with page.expect_navigation(wait_until="load"):
            box.press("Enter")
        try:
            page.wait_for_function("() => /Search finished|did not match/.test(document.querySelector('.search-summary, "
                                   "#search-results p')?.innerText || '')", timeout=30_000)
        except Exception:  # noqa: BLE001 - reported below
            pass
        hits = page.evaluate(JS_SEARCH)
        counts[term] = len(hits)
        if not hits:
            failures.append(f"search: nothing found for {term!r}")
        elif where and not any(urllib.parse.urlsplit(h).path.endswith(where) for h in hits):
            failures.append(f"search: {term!r} does not find {where} ({len(hits)} other results)")
    return failures, counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=REPO / "build" / "book", help="the built site (default build/book)")
    parser.add_argument("--timeout", type=float, default=600, help="overall limit in seconds (default 600)")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    watchdog = threading.Timer(args.timeout, lambda: (log(f"TIMEOUT: past {args.timeout:.0f} s"), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()

    site = args.site.resolve()
    if not (site / "index.html").is_file():
        log(f"FAIL: no site at {site} (run make book first)")
        return 2
    missing = browser_missing("test-book")
    if missing:
        log(f"FAIL: {missing}")
        return 2
    from playwright.sync_api import sync_playwright

    server, base = serve(site)
    web = []

    def local_only(route, request):  # the site must not need the web: refuse, and count, every other request
        if request.url.startswith(base):
            return route.continue_()
        web.append(request.url)
        return route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(60_000)
        context.route("**/*", local_only)
        page = context.new_page()
        failures, seen, figures = check(site, base, page, web)
        failures += check_links(base, seen)
        found, counts = check_search(base, page)
        failures += found
        signatures = {s for f in seen.values() for s in f["signatures"]}
        missing = [n for n in public_names() if f"lstmlab.{n}" not in signatures]
        if missing:
            failures.append(f"API reference: no section with a signature and a docstring for {missing}")
        browser.close()
    server.shutdown()
    watchdog.cancel()

    for line in failures:
        log(f"FAIL {line}")
    links = sum(len(f["links"]) for f in seen.values())
    solutions = sum(f["solutions"] for f in seen.values())
    log(f"{len(seen)} pages, {figures} figures drawn, {solutions} solutions collapsed, {links} links, search hits {counts}, "
        f"{len(public_names()) - len(missing)} of {len(public_names())} ll names with a signature; "
        f"{'PASS' if not failures else f'{len(failures)} failures'} ({time.monotonic() - t0:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
