"""Sphinx configuration of the course as a book (``make book``): MyST-NB executes the notebooks of
``notebooks/`` in quick mode, caches the results, and renders a static HTML site that needs no network,
neither to build nor to read: formulas become MathML at build time (browsers draw it natively, no MathJax),
and no page loads a remote image, font or script.

Build: ``sphinx-build -b html -c book notebooks book/_build/html`` (the Makefile's ``book`` target).
"""
from __future__ import annotations

import html
from pathlib import Path

from docutils import nodes
from latex2mathml.converter import convert as latex_to_mathml
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.writers.html5 import HTML5Translator

from deepfake_utils.course.notebook import REPO_URL, hosted_colab_allowed

BOOK = Path(__file__).resolve().parent
BUILD = BOOK / "_build"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
logger = logging.getLogger(__name__)

project = "deepfake-course"
author = "the deepfake-course authors"
copyright = "the deepfake-course authors, MIT licence"  # noqa: A001 (Sphinx's name)

extensions = ["myst_nb", "sphinx_external_toc"]
external_toc_path = str(BOOK / "_toc.yml")  # 00 is the home page, then every NN_*.ipynb in order
external_toc_exclude_missing = True
exclude_patterns = ["**/.ipynb_checkpoints", "*.cfg"]

# Execution: each notebook once, in quick mode (the Makefile sets DEEPFAKE_QUICK=1), in notebooks/ as in
# nbval; results are cached by the notebook's code, so a rebuild re-runs only notebooks whose code changed.
nb_execution_mode = "cache"
nb_execution_cache_path = str(BUILD / ".jupyter_cache")
nb_execution_in_temp = False
nb_execution_timeout = 600  # seconds per cell, as nbval's --nbval-cell-timeout
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = "remove"  # TensorFlow's log lines and the like are not lesson text
# Jupyter widgets need their JavaScript from a CDN: none is loaded, a widget shows its text form. (tqdm's
# progress bars, the widgets these notebooks make, are plain text in the book's kernels: kernel_startup.py.)
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
myst_update_mathjax = False  # no MathJax: see html_math_renderer
suppress_warnings = ["myst.header"]  # notebooks may skip heading levels in exercises

html_theme = "sphinx_book_theme"
html_title = "deepfake-course"
html_static_path = [str(BOOK / "_static")]
html_css_files = ["book.css"]
html_last_updated_fmt = None
html_context = {"default_mode": "auto"}  # light/dark from the system; without it the theme logs a console error
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": "main",
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "home_page_in_toc": True,
    "show_toc_level": 2,
}

# Formulas as MathML written at build time (latex2mathml): nothing to load, nothing to fetch.
html_math_renderer = "mathml"


def offline_images(app: Sphinx, doctree: nodes.document) -> None:
    """Draw the Colab badge as styled text instead of its remote image; warn about any other remote image."""
    for image in list(doctree.findall(nodes.image)):
        uri = image.get("uri", "")
        if uri == COLAB_BADGE:
            image.replace_self(nodes.inline(text=image.get("alt", "Open In Colab"), classes=["colab-badge"]))
        elif "://" in uri:
            logger.warning("remote image %s needs the network at view time; commit a local copy instead", uri,
                           location=image)


def colab_launch_only_where_allowed(app: Sphinx, pagename: str, templatename: str, context: dict,
                                    doctree: nodes.document | None) -> None:
    """Drop the theme's "launch on Colab" button from the pages of notebooks that make a face swap (07-10): Colab's
    FAQ forbids creating deepfakes on its managed runtimes (deepfake_utils.course.notebook.HOSTED_COLAB)."""
    if hosted_colab_allowed(pagename.rsplit("/", 1)[-1]):
        return
    for group in list(context.get("header_buttons", [])):
        if group.get("label") == "launch-buttons":
            group["buttons"] = [b for b in group["buttons"] if "colab.research.google.com" not in b.get("url", "")]
            if not group["buttons"]:
                context["header_buttons"].remove(group)


def _mathml(self: HTML5Translator, node: nodes.Element, display: str) -> None:
    """Write one formula as MathML (a warning, and the TeX as code, when latex2mathml cannot read it)."""
    latex = node.astext() if display == "inline" else node.get("latex", node.astext())  # MyST $$ blocks: text only
    try:
        markup = latex_to_mathml(latex, display=display)
    except Exception as exc:  # latex2mathml raises several types; each one is reported, none is hidden
        logger.warning("formula %r cannot be converted to MathML: %s", latex, exc, location=node)
        markup = f"<code>{html.escape(latex)}</code>"
    tag = "span" if display == "inline" else "div"
    number = f'<span class="eqno">({node["number"]})</span>' if display == "block" and node.get("number") else ""
    self.body.append(f'<{tag} class="math notranslate">{number}{markup}</{tag}>')
    raise nodes.SkipNode


def visit_math(self: HTML5Translator, node: nodes.Element) -> None:
    """Inline formula ($...$) as MathML."""
    _mathml(self, node, "inline")


def visit_math_block(self: HTML5Translator, node: nodes.Element) -> None:
    """Display formula ($$...$$) as MathML."""
    _mathml(self, node, "block")


def new_or_removed_notebooks(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str],
                             removed: set[str]) -> list[str]:
    """A notebook added or removed changes every page's navigation: read all again (their executions are cached),
    and delete the pages of removed notebooks."""
    for docname in removed:
        Path(app.outdir, docname + ".html").unlink(missing_ok=True)
    return sorted(env.found_docs) if added or removed else []


def setup(app: Sphinx) -> dict:
    """Register the book's MathML formulas and its offline images."""
    app.add_html_math_renderer("mathml", inline_renderers=(visit_math, None), block_renderers=(visit_math_block, None))
    app.connect("doctree-read", offline_images, priority=100)
    app.connect("env-get-outdated", new_or_removed_notebooks)
    app.connect("html-page-context", colab_launch_only_where_allowed, priority=600)  # after the theme's (501)
    return {"parallel_read_safe": False}
