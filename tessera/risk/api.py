"""Risk API: a proof-of-work challenge fetched ahead of a join or hold (``static/risk/pow.js``)."""

from __future__ import annotations

from typing import Literal

from ninja import Field, Query, Router, Schema

from tessera.core.schemas import ErrorOut
from tessera.risk import gate

router = Router(tags=["risk"])


class ChallengeIn(Schema):
    purpose: Literal["join", "hold"] = Field(..., description="What the proof is for.")
    session: int | None = Field(None, ge=1, le=2**62, description="The session held.")
    room: int | None = Field(None, ge=1, le=2**62, description="The waiting room joined.")
    at_least: int = Field(0, ge=0, le=32, description="Bits the server asked for (its 428).")
    wd: int = Field(0, ge=0, le=1, description="navigator.webdriver")
    lang: int = Field(0, ge=0, le=100, description="Length of navigator.languages")
    scr: str = Field("", max_length=20, pattern=r"^[0-9x]*$", description="Screen WxH")
    tch: int = Field(0, ge=0, le=100, description="navigator.maxTouchPoints")


class ChallengeOut(Schema):
    challenge: str
    difficulty: int
    algorithm: str


@router.get(
    "/risk/challenge",
    auth=None,
    response={200: ChallengeOut, 422: ErrorOut},
    summary="A proof-of-work challenge for a join or a hold",
)
def challenge(request, query: Query[ChallengeIn]):
    """A signed challenge bound to this device, the signed-in account (if any) and
    ``purpose``, valid for two minutes and once: find a decimal ``nonce`` such that
    SHA-256 of ``challenge + ":" + nonce`` has ``difficulty`` leading zero bits, then send
    ``X-Tessera-Proof: <challenge>:<nonce>`` with the join or hold. The browser's features
    given here are signed into the challenge."""
    features = {"wd": query.wd, "lang": query.lang, "scr": query.scr, "tch": query.tch}
    token, bits = gate.challenge_for(
        request.META,
        purpose=query.purpose,
        user=request.user,
        session_id=query.session,
        room_id=query.room,
        features=features,
        at_least=query.at_least,
        device=gate.device_of(request),
    )
    return {"challenge": token, "difficulty": bits, "algorithm": "sha256"}
