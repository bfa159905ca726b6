"""HTML mail made safe to show in the web mail, and plain text made readable.

:func:`render_html` runs a message's HTML through nh3 (the Ammonia sanitizer) with the
tags and attributes ordinary mail uses: no scripts, no forms, no frames, no event
handlers, no ``<style>`` blocks, ``style`` attributes cut down to properties that can
neither move content over the page nor fetch anything else than an image. Links open
in a new tab with ``rel="noopener noreferrer"``.

Remote images (``http:``, ``https:``, protocol-relative ``src``, and CSS ``url()``)
tell the sender that and when the message was read, so they are dropped unless the
reader asked to see them for this message; :class:`Rendered` says how many were held
back. ``cid:`` images (sent inside the message) are pointed at the message's own parts.
The message view also sends a strict Content-Security-Policy (:func:`message_csp`) so
that a mistake here still cannot load or run anything.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import nh3
from markupsafe import Markup, escape

TAGS = (nh3.ALLOWED_TAGS | {"font", "tfoot", "big", "center"}) - {"area", "map"}
CLEAN_CONTENT = {"script", "style", "title", "head", "template", "noscript", "xmp", "textarea"}
_LAYOUT = {"align", "valign", "width", "height", "bgcolor"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"style", "title", "dir", "lang"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height", "border", "align", "hspace", "vspace"},
    "table": _LAYOUT | {"border", "cellpadding", "cellspacing", "summary", "frame", "rules"},
    "tr": _LAYOUT,
    "td": _LAYOUT | {"colspan", "rowspan", "headers", "nowrap"},
    "th": _LAYOUT | {"colspan", "rowspan", "headers", "nowrap", "scope"},
    "thead": _LAYOUT,
    "tbody": _LAYOUT,
    "tfoot": _LAYOUT,
    "col": _LAYOUT | {"span"},
    "colgroup": _LAYOUT | {"span"},
    "div": {"align"},
    "p": {"align"},
    "h1": {"align"},
    "h2": {"align"},
    "h3": {"align"},
    "hr": {"align", "size", "width", "noshade"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type", "reversed"},
    "ul": {"type"},
    "li": {"value"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "data": {"value"},
    "bdo": {"dir"},
}
# Properties that lay text out and colour it. Left out on purpose: position, z-index,
# top/left/..., transform (content laid over the application), content, cursor,
# list-style(-image), border-image, mask, filter (fetch or draw outside the text).
STYLE_PROPERTIES = {
    "color",
    "background",
    "background-color",
    "background-image",
    "background-position",
    "background-repeat",
    "background-size",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "letter-spacing",
    "word-spacing",
    "line-height",
    "white-space",
    "word-break",
    "overflow-wrap",
    "vertical-align",
    "direction",
    "display",
    "float",
    "clear",
    "width",
    "min-width",
    "max-width",
    "height",
    "min-height",
    "max-height",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-radius",
    "border-collapse",
    "border-spacing",
    "table-layout",
    "list-style-type",
}
# ``cid`` and ``data`` reach the attribute filter, which decides (nh3 checks schemes
# before it calls the filter).
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")
DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]*\Z", re.I)
FETCHING = re.compile(r"(url|image-set|image|cross-fade|element|-webkit-image-set)\s*\(", re.I)
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)\Z""", re.I)


@dataclass(frozen=True)
class Rendered:
    html: Markup
    blocked: int  # remote images held back


def _is_remote(url: str) -> bool:
    lowered = url.strip().lower()
    return lowered.startswith(("http://", "https://", "//"))


class _Filter:
    """nh3's attribute filter for one message: where images may come from."""

    def __init__(self, allow_remote: bool, cid_url: Callable[[str], str | None]) -> None:
        self.allow_remote = allow_remote
        self.cid_url = cid_url
        self.blocked = 0

    def image(self, url: str) -> str | None:
        url = url.strip()
        if url.lower().startswith("cid:"):
            return self.cid_url(url[4:].strip("<>"))
        if DATA_IMAGE.match(url):
            return url
        if _is_remote(url):
            if not self.allow_remote:
                self.blocked += 1
                return None
            return "https:" + url if url.startswith("//") else url
        return None  # relative: it would point into this application

    def style(self, value: str) -> str | None:
        if "\\" in value or "/*" in value:
            return None  # CSS escapes and comments could hide a url( from us
        kept = []
        for declaration in _declarations(value):
            if FETCHING.search(declaration):
                rewritten = self._css_image(declaration)
                if rewritten is None:
                    continue
                declaration = rewritten
            kept.append(declaration)
        return "; ".join(kept) if kept else None

    def _css_image(self, declaration: str) -> str | None:
        name, _sep, value = declaration.partition(":")
        parts = _functions(value)
        if any(not CSS_URL.match(p) for p in parts):
            return None  # image-set() and friends: rare in mail, not worth the risk
        for part in parts:
            found = CSS_URL.match(part)
            assert found is not None
            url = self.image(found[2])
            if url is None or '"' in url:
                return None
            value = value.replace(part, f'url("{url}")')
        return f"{name}:{value}"

    def __call__(self, tag: str, attribute: str, value: str) -> str | None:
        if attribute == "src":
            return self.image(value) if tag == "img" else None
        if attribute == "href":
            return value if value.strip().lower().startswith(LINK_SCHEMES) else None
        if attribute == "style":
            return self.style(value)
        return value


def _declarations(style: str) -> list[str]:
    """``style`` split at the semicolons that are outside quotes and parentheses."""
    found: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in style:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == ";" and depth == 0:
            found.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    found.append("".join(current).strip())
    return [d for d in found if d]


def _functions(value: str) -> list[str]:
    """The ``name(...)`` calls in a CSS value that fetch something, as written."""
    calls = []
    for start in FETCHING.finditer(value):
        depth, end = 0, len(value)
        for index in range(start.end() - 1, len(value)):
            if value[index] == "(":
                depth += 1
            elif value[index] == ")":
                depth -= 1
                if depth == 0:
                    end = index + 1
                    break
        calls.append(value[start.start() : end])
    return calls


def render_html(
    source: str,
    *,
    allow_remote: bool = False,
    cid_url: Callable[[str], str | None] | None = None,
) -> Rendered:
    """``source`` (a message's HTML) as safe markup; remote images only with
    ``allow_remote``; ``cid_url`` maps a Content-ID to the URL of its part."""
    check = _Filter(allow_remote, cid_url or (lambda _cid: None))
    cleaned = nh3.clean(
        source,
        tags=TAGS,
        clean_content_tags=CLEAN_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=check,
        url_schemes=URL_SCHEMES,
        filter_style_properties=STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
    return Rendered(html=Markup(cleaned), blocked=check.blocked)  # noqa: S704 - sanitized


LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.I)
TRAILING = ".,;:!?)]}'\""


def render_text(text: str) -> Markup:
    """Plain text as HTML: escaped, with its web addresses as links."""
    out: list[str] = []
    position = 0
    for found in LINK.finditer(text):
        url = found[0].rstrip(TRAILING)
        out.append(str(escape(text[position : found.start()])))
        href = url if "://" in url else "https://" + url
        out.append(
            f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>'
        )
        position = found.start() + len(url)
    out.append(str(escape(text[position:])))
    return Markup("".join(out))  # noqa: S704 - every piece is escaped


_BREAKS = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h[1-6]|/blockquote|/table)\b[^>]*>", re.I)


def html_to_text(source: str) -> str:
    """The text of an HTML message (to quote it in a reply or forward)."""
    broken = _BREAKS.sub("\n", source)
    bare = nh3.clean(broken, tags=set(), clean_content_tags=CLEAN_CONTENT)
    lines = [" ".join(html.unescape(line).split()) for line in bare.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def message_csp(*, remote_images: bool) -> str:
    """The Content-Security-Policy of the message view: our own scripts and styles,
    inline style attributes (the mail's, already filtered), images from here and
    ``data:`` (and from anywhere once the reader allowed remote images)."""
    images = "'self' data: https: http:" if remote_images else "'self' data:"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "style-src-elem 'self'; style-src-attr 'unsafe-inline'; "
        f"img-src {images}; font-src 'self'; connect-src 'self'; form-action 'self'; "
        "frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; "
        "media-src 'none'"
    )


def cid_mapper(urls: Mapping[str, str]) -> Callable[[str], str | None]:
    """A ``cid_url`` for :func:`render_html` from Content-IDs (without ``<>``) to URLs."""
    lowered = {key.lower(): url for key, url in urls.items()}
    return lambda cid: lowered.get(cid.lower())
