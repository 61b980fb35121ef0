"""Check the built course book in a real headless browser (``make book-check``).

Serves the site (``book/_build/html``) on localhost, drives Debian's Chromium through Playwright (never a
downloaded browser), follows every internal link from the home page, and reports:

* a page or any other internal link target that does not load (HTTP status >= 400), or a ``#fragment``
  that names no element of its page;
* console errors and uncaught page errors;
* images that did not decode (``naturalWidth == 0``), and notebook pages that show fewer figures than
  their executed notebook has, or none at all;
* formulas not drawn as MathML;
* any request to an address other than the local server (the book must work offline): such requests
  are blocked, and each one is a problem;
* a notebook of ``notebooks/`` (``NN_*.ipynb``) without a page.

``--self-test`` then breaks a copy of the site on purpose (a figure deleted, a link broken, a remote
image and a console error injected) and fails unless the check reports each of the four.
Exit status: 0 when no problem was found, 1 otherwise.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import Page, Request, Route, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
NOTEBOOK_NAME = re.compile(r"^\d\d_.+\.ipynb$")
# The switches the brief of the check asks for: headless, no sandbox (root in CI), and no traffic of the
# browser's own (updates, sync, QUIC); the resolver rule also stops any name other than localhost resolving.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
PAGE_TIMEOUT_MS = 30_000


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site; records every request's status instead of printing it."""

    statuses: dict[str, int]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Record the status of each request (the check reads it) rather than logging it."""
        self.statuses[self.path] = int(code) if str(code).isdigit() else 0

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        """Say nothing: problems are reported by the check."""


@dataclass
class Report:
    """What the check found: pages visited, figures seen, problems."""

    pages: list[str] = field(default_factory=list)
    pages_failed: list[str] = field(default_factory=list)  # pages with at least one problem
    figures: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        """Record one problem, once."""
        line = f"{where}: {what}"
        if line not in self.problems:
            self.problems.append(line)


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, dict[str, int]]:
    """Serve ``site`` on 127.0.0.1 at a free port, in a daemon thread."""
    statuses: dict[str, int] = {}
    handler = type("Handler", (_QuietHandler,), {"statuses": statuses})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, statuses


def expected_figures(notebooks: Path, cache: Path) -> dict[str, int | None]:
    """Image outputs per notebook page in MyST-NB's executed notebooks (None: not in its cache)."""
    import nbformat
    from jupyter_cache import get_cache

    store = get_cache(cache)
    counts: dict[str, int | None] = {}
    for nb_path in sorted(p for p in notebooks.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name)):
        try:
            _, nb = store.merge_match_into_notebook(nbformat.read(nb_path, as_version=4))
        except KeyError:
            counts[nb_path.stem + ".html"] = None
            continue
        counts[nb_path.stem + ".html"] = sum(
            1 for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if any(m.startswith("image/") for m in out.get("data", {})))
    return counts


def _page_facts(page: Page) -> dict:
    """Links, ids, images, figures and formulas of the loaded page, read in the browser."""
    return page.evaluate("""async () => {
        const imgs = Array.from(document.images);
        await Promise.all(imgs.map(i => i.decode().catch(() => null)));
        const formulas = Array.from(document.querySelectorAll('.math'));
        return {
            links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
            ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
            images: imgs.map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0,
                                     figure: !!i.closest('.cell_output')})),
            math: formulas.length,
            mathml: formulas.filter(f => {
                const m = f.querySelector('math');
                return m && m.getBoundingClientRect().width > 0;
            }).length,
        };
    }""")


def check_site(site: Path, notebooks: Path, cache: Path, chromium: str = CHROMIUM) -> Report:
    """Crawl the site in headless Chromium from its home page and report every problem found."""
    site = site.resolve()
    report = Report()
    for path, what in [(site / "index.html", "the site"), (cache, "MyST-NB's execution cache")]:
        if not path.exists():
            report.add(str(path), f"not found ({what}): build the book first (make book)")
            return report
    figures = expected_figures(notebooks, cache)
    server, statuses = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    current = {"page": "(start)"}

    def on_route(route: Route) -> None:
        url = route.request.url
        if url.startswith(base) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            report.add(current["page"], f"request to the network blocked: {url}")
            route.abort("blockedbyclient")

    def on_failed(request: Request) -> None:
        if request.url.startswith(base):
            report.add(current["page"], f"request failed: {request.url} ({request.failure})")

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(service_workers="block")
            context.route("**/*", on_route)
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.on("console", lambda msg: msg.type == "error" and report.add(
                current["page"], f"console error: {msg.text}"))
            page.on("pageerror", lambda exc: report.add(current["page"], f"page error: {exc}"))
            page.on("requestfailed", on_failed)
            page.on("response", lambda r: r.url.startswith(base) and r.status >= 400 and report.add(
                current["page"], f"HTTP {r.status} for {r.url}"))

            # from the home page, then the site's other top-level pages (the index, the search page);
            # a page reached only that way is not linked from the book
            todo = [(base + p, p) for p in ["index.html"] + sorted(p.name for p in site.glob("*.html"))]
            linked, seen, fragments, others = {"index.html"}, set(), [], set()
            ids: dict[str, set[str]] = {}
            while todo:
                url, referrer = todo.pop(0)
                if url in seen:
                    continue
                seen.add(url)
                name = url[len(base):]
                current["page"] = referrer  # a page that does not load is the fault of the page linking to it
                response = page.goto(url, wait_until="networkidle")
                if response is None or response.status >= 400:
                    report.add(referrer, f"link to {name} does not load "
                                         f"(HTTP {response.status if response else 'no response'})")
                    continue
                name = page.url[len(base):] if page.url.startswith(base) else name  # after a redirect
                current["page"] = name
                if name in ids:  # a redirect to a page already checked
                    continue
                report.pages.append(name)
                facts = _page_facts(page)
                ids[name] = set(facts["ids"])
                for image in facts["images"]:
                    if not image["ok"]:
                        report.add(name, f"image did not load or decode: {image['src']}")
                shown = sum(1 for i in facts["images"] if i["figure"] and i["ok"])
                report.figures += shown
                if name in figures:
                    if figures[name] is None:
                        report.add(name, "its notebook is not in the execution cache (not executed, or "
                                         "changed since the build)")
                    elif figures[name] == 0:
                        report.add(name, "a notebook page without a single figure (was the figure backend "
                                         "left non-inline, e.g. MPLBACKEND=Agg?)")
                    elif shown < figures[name]:
                        report.add(name, f"shows {shown} of its notebook's {figures[name]} figures")
                if facts["mathml"] < facts["math"]:
                    report.add(name, f"{facts['math'] - facts['mathml']} of {facts['math']} formulas not drawn "
                                     "as MathML")
                for link in facts["links"]:
                    target, fragment = urldefrag(link)
                    if not target.startswith(base):
                        continue  # outside links are only links: they are not followed or fetched
                    path = urlsplit(target).path
                    if path.endswith(".html") or path.endswith("/"):
                        linked.add(target[len(base):])
                        todo.append((target, name))
                        if fragment:
                            fragments.append((name, target[len(base):], fragment))
                    else:
                        others.add((name, target))
            # internal links to files that are not pages (notebook downloads, images): they must exist
            api = context.request
            for name, target in sorted(others):
                status = api.get(target).status
                if status >= 400:
                    report.add(name, f"link to {target[len(base):]} gives HTTP {status}")
            browser.close()
    finally:
        server.shutdown()
    for name, target, fragment in fragments:
        if target in ids and fragment not in ids[target]:
            report.add(name, f"link to {target}#{fragment}: no element with that id")
    for path, status in sorted(statuses.items()):
        if status >= 400:
            report.add("server", f"HTTP {status} for {path}")
    report.pages_failed = sorted({p.split(": ", 1)[0] for p in report.problems} & set(report.pages))
    for page in figures:
        if page not in report.pages:
            report.add(page.replace(".html", ".ipynb"), "has no page in the book (not built)")
        elif page not in linked:
            report.add(page, "no page of the book links to it (missing from the table of contents?)")
    return report


def break_copy(site: Path, work: Path) -> tuple[Path, list[str]]:
    """A copy of the site with four faults put in on purpose; returns it and a pattern for each fault."""
    broken = work / "html"
    shutil.copytree(site, broken)
    pages = sorted(p for p in broken.glob("[0-9][0-9]_*.html") if "_images/" in p.read_text(encoding="utf-8"))
    if len(pages) < 2:
        raise SystemExit("self-test: needs at least two notebook pages with figures")
    figure_page, other_page = pages[0], pages[1]
    figure = re.search(r'src="(_images/[^"]+)"', figure_page.read_text(encoding="utf-8")).group(1)
    (broken / figure).unlink()
    html = other_page.read_text(encoding="utf-8")
    html = html.replace("</article>", '<p><a href="no_such_page.html">broken</a>'
                        '<img src="https://example.org/remote.png" alt="remote">'
                        "<script>console.error('injected error')</script></p></article>", 1)
    other_page.write_text(html, encoding="utf-8")
    return broken, [rf"image did not load or decode: .*{re.escape(figure)}",
                    rf"{re.escape(other_page.name)}: link to no_such_page\.html does not load \(HTTP 404\)",
                    r"request to the network blocked: https://example\.org/remote\.png",
                    r"console error: injected error"]


def self_test(site: Path, notebooks: Path, cache: Path, chromium: str) -> list[str]:
    """Run the check on a deliberately broken copy; returns the faults it failed to report (empty: good)."""
    with tempfile.TemporaryDirectory() as tmp:
        broken, expected = break_copy(site.resolve(), Path(tmp))
        report = check_site(broken, notebooks, cache, chromium)
    missed = [pattern for pattern in expected if not any(re.search(pattern, p) for p in report.problems)]
    print(f"self-test: the broken copy gave {len(report.problems)} problems; "
          f"{len(expected) - len(missed)} of the {len(expected)} faults put in were reported")
    return missed


def main(argv: list[str] | None = None) -> int:
    """Command line: check the built book, optionally prove the check fails on a broken copy."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", type=Path, default=ROOT / "book" / "_build" / "html")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                        help="every NN_*.ipynb here must have a page")
    parser.add_argument("--cache", type=Path, default=ROOT / "book" / "_build" / ".jupyter_cache",
                        help="MyST-NB's execution cache (what the notebooks output when executed)")
    parser.add_argument("--chromium", default=CHROMIUM, help="the browser binary (Debian's chromium package)")
    parser.add_argument("--self-test", action="store_true",
                        help="also check that a deliberately broken copy of the site fails the check")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"{args.chromium} not found: install Debian's browser (apt-get install -y chromium)", file=sys.stderr)
        return 1
    start = time.perf_counter()
    report = check_site(args.site, args.notebooks, args.cache, args.chromium)
    print(f"book check: {len(report.pages)} pages, {report.figures} figures shown, "
          f"{len(report.problems)} problems ({time.perf_counter() - start:.1f} s)")
    for problem in report.problems:
        print("  " + problem)
    missed = self_test(args.site, args.notebooks, args.cache, args.chromium) if args.self_test else []
    for pattern in missed:
        print(f"  self-test: fault not reported: {pattern}")
    # one closing line: pages without a problem passed; pages with one, the site-wide checks (the server's
    # log, notebooks without a page) if any of them found one, and the self-test if it missed a fault, failed
    site_wide = len(report.problems) > sum(p.split(": ", 1)[0] in report.pages_failed for p in report.problems)
    failed = len(report.pages_failed) + int(site_wide) + int(bool(missed))
    print(f"book-check: {len(report.pages) - len(report.pages_failed)} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
