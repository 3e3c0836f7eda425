"""QR codes of ticket credentials, drawn with segno.

Error correction M (15 % of the code may be damaged or covered), the standard quiet zone of
four modules, alphanumeric mode (the credential text is Base45, see credentials.py). The SVG
has a viewBox and no fixed size, so it scales to whatever box the page gives it.
"""

import io

import segno

ERROR = "m"
QUIET_ZONE = 4


def make_qr(credential: str) -> segno.QRCode:
    """The QR code of a credential; raises ValueError if the text is not alphanumeric."""
    return segno.make(credential, error=ERROR, mode="alphanumeric", boost_error=False)


def qr_svg_inline(credential: str, *, title: str = "") -> str:
    """An ``<svg>`` element to put inside an HTML page (no XML declaration or namespace)."""
    return make_qr(credential).svg_inline(
        scale=1,
        border=QUIET_ZONE,
        omitsize=True,
        dark="#000",
        light="#fff",
        title=title or None,
        svgclass="ticket-qr",
        lineclass=None,
    )


def qr_svg_document(credential: str, *, title: str = "") -> bytes:
    """A standalone SVG file (``image/svg+xml``)."""
    out = io.BytesIO()
    make_qr(credential).save(
        out,
        kind="svg",
        scale=1,
        border=QUIET_ZONE,
        omitsize=True,
        dark="#000",
        light="#fff",
        xmldecl=True,
        svgns=True,
        title=title or None,
        svgclass="ticket-qr",
        lineclass=None,
    )
    return out.getvalue()
