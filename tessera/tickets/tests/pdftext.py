"""Just enough PDF reading for the tests: page count and the text drawn in the CJK font of
a reportlab document (content streams ASCII85 + Flate, strings UTF-16BE)."""

import base64
import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_PAGE = re.compile(rb"/Type /Page(?!s)")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def page_count(pdf: bytes) -> int:
    return len(_PAGE.findall(pdf))


def font_name(pdf: bytes, base_font: str) -> str:
    """The resource name (``F3``) under which ``base_font`` is used."""
    match = re.search(
        rb"/BaseFont /" + re.escape(base_font.encode()) + rb"\b.*?/Name /(F\d+)", pdf, re.S
    )
    assert match, f"{base_font} is not in the document"
    return match.group(1).decode()


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(literal):
        ch = literal[i : i + 1]
        if ch != b"\\":
            out += ch
            i += 1
            continue
        nxt = literal[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(0), 8))
            i += 1 + len(octal.group(0))
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


def cjk_text_by_page(pdf: bytes, base_font: str = "STSong-Light") -> list[str]:
    """Per content stream (one per page), the strings drawn in ``base_font``, joined by |."""
    name = font_name(pdf, base_font).encode()
    shows = re.compile(rb"/" + name + rb" [\d.]+ Tf [\d.]+ TL \(((?:\\.|[^\\)])*)\) Tj", re.S)
    pages = []
    for stream in _STREAM.findall(pdf):
        content = zlib.decompress(base64.a85decode(stream.strip(), adobe=True))
        runs = [_unescape(m).decode("utf-16-be") for m in shows.findall(content)]
        pages.append("|".join(runs))
    return pages
