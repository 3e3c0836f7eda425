"""Help-centre Markdown: rendered without raw HTML (markdown-it's ``js-default`` preset
escapes HTML and refuses ``javascript:`` links), and as plain text for the chat."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_MD = MarkdownIt("js-default")


def render_html(text: str) -> str:
    """Safe HTML of ``text`` (raw HTML in the source comes out escaped)."""
    return _MD.render(text or "")


def render_plain(text: str) -> str:
    """``text`` without Markdown's emphasis marks, for the chat window (set as text)."""
    plain = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), text or "")
    plain = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", plain)
    return plain.strip()
