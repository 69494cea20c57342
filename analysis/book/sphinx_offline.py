"""A tiny Sphinx extension for an offline, error-free book.

- Drops duplicate inline scripts (sphinx-thebe registers its config twice, which is a console error).
- Drops scripts and stylesheets that point at another host, so no page requests anything off-site.
"""

from __future__ import annotations


def _key(asset) -> tuple:
    filename = getattr(asset, "filename", asset) or ""  # inline scripts come as None or ""
    attributes = getattr(asset, "attributes", {}) or {}
    return (str(filename), str(attributes.get("body", "")))


def _is_remote(asset) -> bool:
    filename = str(getattr(asset, "filename", asset) or "")
    return filename.startswith(("http://", "https://", "//"))


def _clean(app, pagename, templatename, context, doctree) -> None:
    for name in ("script_files", "css_files"):
        assets = context.get(name)
        if not assets:
            continue
        seen, kept = set(), []
        for asset in assets:
            key = _key(asset)
            if key in seen or _is_remote(asset):
                continue
            seen.add(key)
            kept.append(asset)
        assets[:] = kept


def setup(app):
    register_evidence_style()
    app.connect("html-page-context", _clean, priority=100)  # early: html-page-context stops at the first handler that returns a value
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}


def register_evidence_style() -> None:
    """A pybtex style whose labels are the evidence ids (``[NEO-E012]``): unique across the book and
    the same id the chapter's evidence table shows."""
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.unsrt import Style as UnsrtStyle
    from pybtex.style.labels import BaseLabelStyle

    class EvidenceIdLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                yield entry.key.upper()

    class EvidenceStyle(UnsrtStyle):
        default_label_style = "evidence_id"

    register_plugin("pybtex.style.labels", "evidence_id", EvidenceIdLabels, force=True)
    register_plugin("pybtex.style.formatting", "evidence", EvidenceStyle, force=True)
