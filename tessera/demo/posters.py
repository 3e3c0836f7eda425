"""Posters of the demo's events, drawn by code as SVG (1600 x 900, the 16:9 of the event
cards; the text stays inside the middle 16:8 band that the wide cards show).

``draw_poster(event)`` is a pure function of the event's names, kind, teams and tags. The
drawn files are committed in ``posters/`` (one ``<slug>.svg`` per event) and the loader
attaches them as the events' images; ``manage.py draw_demo_posters`` draws them again from
a loaded demo, and a test checks that the committed files are what the code draws.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from xml.sax.saxutils import escape

POSTER_DIR = Path(__file__).resolve().parent / "posters"
WIDTH, HEIGHT = 1600, 900
FONT = "'Noto Sans CJK SC','PingFang SC','Microsoft YaHei','Helvetica Neue',Arial,sans-serif"

# kind / first tag → (background from, background to, accent)
PALETTES = {
    "pop": ("#1e1b4b", "#7e22ce", "#f0abfc"),
    "rock": ("#111827", "#7f1d1d", "#fbbf24"),
    "classical": ("#1c1917", "#78350f", "#fde68a"),
    "musical": ("#0c1445", "#1e3a8a", "#fef3c7"),
    "comedy": ("#7c2d12", "#ea580c", "#fff7ed"),
    "cup": ("#0f172a", "#14532d", "#facc15"),
    "default": ("#1f2937", "#334155", "#e2e8f0"),
}


def poster_path(slug: str) -> Path:
    return POSTER_DIR / f"{slug}.svg"


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _fit(text: str, width: float, largest: float) -> float:
    """A font size at which ``text`` fits ``width``: CJK characters count one em, others
    about 0.55 em."""
    ems = sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in text) or 1
    return round(min(largest, width / ems), 1)


def _text(x: float, y: float, text: str, size: float, fill: str, weight: int = 700) -> str:
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" fill="{fill}" '
        f'text-anchor="middle" font-family="{FONT}">{escape(text)}</text>'
    )


def _head(palette: tuple[str, str, str]) -> list[str]:
    start, end, _accent = palette
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}">',
        "<defs>",
        f'<linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" '
        f'stop-color="{start}"/><stop offset="1" stop-color="{end}"/></linearGradient>',
        "</defs>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#bg)"/>',
    ]


def _match(event) -> list[str]:
    home, away = event.home_team, event.away_team
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{escape(home.color)}"/>',
        f'<polygon points="{WIDTH * 0.58},0 {WIDTH},0 {WIDTH},{HEIGHT} {WIDTH * 0.42},{HEIGHT}" '
        f'fill="{escape(away.color)}"/>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#000" opacity="0.28"/>',
    ]
    # pitch lines: halfway line, centre circle, the two boxes
    line = 'stroke="#fff" stroke-opacity="0.22" stroke-width="6" fill="none"'
    parts += [
        f'<line x1="{WIDTH / 2}" y1="60" x2="{WIDTH / 2}" y2="{HEIGHT - 60}" {line}/>',
        f'<circle cx="{WIDTH / 2}" cy="{HEIGHT / 2}" r="150" {line}/>',
        f'<rect x="60" y="250" width="220" height="400" {line}/>',
        f'<rect x="{WIDTH - 280}" y="250" width="220" height="400" {line}/>',
        f'<rect x="60" y="60" width="{WIDTH - 120}" height="{HEIGHT - 120}" {line}/>',
    ]
    for cx, team in ((WIDTH * 0.27, home), (WIDTH * 0.73, away)):
        short = team.short_name or team.name
        parts += [
            f'<circle cx="{cx}" cy="380" r="150" fill="#fff" fill-opacity="0.12" '
            f'stroke="#fff" stroke-width="8"/>',
            _text(cx, 380 + _fit(short, 240, 130) * 0.36, short, _fit(short, 240, 130), "#fff"),
            _text(cx, 610, team.name_en, _fit(team.name_en, 520, 50), "#fff", 600),
        ]
    parts.append(_text(WIDTH / 2, 400, "VS", 88, "#fff", 900))
    league = "CUP FINAL" if event.slug.endswith("final") else f"ROUND {escape(event.round)}"
    parts.append(_text(WIDTH / 2, 760, league, 44, "#fff", 600))
    return parts


def _decor(kind: str, accent: str, seed: int) -> list[str]:
    parts = []
    if kind in ("pop", "rock"):
        # stage lights: beams fanning out from the top
        for i in range(7):
            x = 160 + i * 213
            spread = 70 + (seed >> i) % 60
            parts.append(
                f'<polygon points="{x},0 {x - spread},{HEIGHT} {x + spread},{HEIGHT}" '
                f'fill="{accent}" opacity="{0.06 + (i % 3) * 0.03:.2f}"/>'
            )
        for i in range(40):
            x = (seed * (i + 3) * 7919) % WIDTH
            y = (seed * (i + 5) * 104729) % HEIGHT
            r = 2 + (seed >> (i % 16)) % 5
            parts.append(f'<circle cx="{x}" cy="{y}" r="{r}" fill="{accent}" opacity="0.55"/>')
    elif kind == "classical":
        # staff lines bending like a score in the wind
        for i in range(5):
            y = 170 + i * 26
            path = " ".join(
                f"{'M' if k == 0 else 'L'}{k * 40},{y + 30 * math.sin(k / 6 + i / 3):.1f}"
                for k in range(41)
            )
            parts.append(
                f'<path d="{path}" stroke="{accent}" stroke-width="3" fill="none" opacity="0.5"/>'
            )
    elif kind == "musical":
        parts.append(f'<circle cx="1270" cy="220" r="120" fill="{accent}" opacity="0.9"/>')
        parts.append('<circle cx="1315" cy="195" r="110" fill="#1e3a8a"/>')
        for i in range(30):
            x = (seed * (i + 3) * 7919) % WIDTH
            y = (seed * (i + 5) * 104729) % (HEIGHT // 2)
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="#fff" opacity="0.7"/>')
    elif kind == "comedy":
        # a spotlight on a microphone stand
        parts.append(
            f'<ellipse cx="1300" cy="820" rx="260" ry="60" fill="{accent}" opacity="0.2"/>'
        )
        stand = f'<rect x="1292" y="420" width="16" height="400" fill="{accent}" opacity="0.5"/>'
        head = (
            f'<rect x="1270" y="340" width="60" height="100" rx="30" fill="{accent}" '
            'opacity="0.6"/>'
        )
        parts += [stand, head]
    else:
        for i in range(6):
            parts.append(
                f'<circle cx="{WIDTH / 2}" cy="{HEIGHT / 2}" r="{120 + i * 90}" stroke="{accent}" '
                f'stroke-width="3" fill="none" opacity="{0.3 - i * 0.04:.2f}"/>'
            )
    return parts


def _show(event, kind: str) -> list[str]:
    palette = PALETTES.get(kind, PALETTES["default"])
    accent = palette[2]
    parts = _head(palette) + _decor(kind, accent, _seed(event.slug))
    size = _fit(event.name, WIDTH - 240, 110)
    parts.append(_text(WIDTH / 2, 470, event.name, size, "#fff", 800))
    parts.append(
        _text(WIDTH / 2, 560, event.name_en, _fit(event.name_en, WIDTH - 360, 56), accent, 600)
    )
    return parts


def draw_poster(event) -> str:
    """The SVG text of ``event``'s poster (same event, same bytes)."""
    if event.home_team_id and event.away_team_id:
        parts = _match(event)
    else:
        tags = [tag.slug for tag in event.tags.all()]
        kind = next((t for t in tags if t in PALETTES), "default")
        parts = _show(event, kind)
    parts.insert(1, f"<title>{escape(event.name)} · {escape(event.name_en)}</title>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_posters(events) -> list[Path]:
    """Draw ``events``' posters into ``POSTER_DIR``; returns the files written."""
    POSTER_DIR.mkdir(exist_ok=True)
    written = []
    for event in events:
        path = poster_path(event.slug)
        path.write_text(draw_poster(event), encoding="utf-8")
        written.append(path)
    return written
