"""Just enough PDF reading for the tests: the strings a reportlab document draws, in order,
decoded by the font in use (Helvetica: cp1252; the CJK CID font: UTF-16BE)."""

import base64
import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_OPS = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", re.S)


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(literal):
        ch = literal[i : i + 1]
        if ch != b"\\":
            out += ch
            i += 1
            continue
        octal = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(0), 8))
            i += 1 + len(octal.group(0))
        else:
            nxt = literal[i + 1 : i + 2]
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


def _cid_fonts(pdf: bytes) -> set[bytes]:
    return set(re.findall(rb"/BaseFont /STSong-Light\b.*?/Name /(F\d+)", pdf, re.S))


def strings_by_page(pdf: bytes) -> list[list[str]]:
    cid = _cid_fonts(pdf)
    pages = []
    for stream in _STREAM.findall(pdf):
        try:
            content = zlib.decompress(base64.a85decode(stream.strip(), adobe=True))
        except (ValueError, zlib.error):
            continue
        font = b""
        shown: list[str] = []
        for match in _OPS.finditer(content):
            if match.group(1):
                font = match.group(1)
                continue
            raw = _unescape(match.group(2))
            shown.append(raw.decode("utf-16-be") if font in cid else raw.decode("cp1252"))
        if shown:
            pages.append(shown)
    return pages


def text(pdf: bytes) -> str:
    """Every string drawn, runs of one line joined: the page's text, one string per run."""
    return "|".join("|".join(page) for page in strings_by_page(pdf))
