"""Verified contacts over HTTP: what is verified, ask for a code, confirm it."""

from datetime import datetime
from typing import Literal

from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from tessera.core.clock import now as clock_now
from tessera.core.schemas import ErrorOut, InputSchema
from tessera.ratelimit import verification
from tessera.ratelimit.models import VerifiedContact

router = Router(tags=["verification"])

_ERRORS = {401: ErrorOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut}


class ContactOut(Schema):
    channel: str
    address: str = Field(..., description="Masked.", examples=["138****5678"])
    verified_at: datetime


class VerificationOut(Schema):
    verified: list[ContactOut]


class CodeIn(InputSchema):
    channel: Literal["phone", "email"]
    address: str = Field(..., min_length=1, max_length=254, strict=True)


class CodeOut(Schema):
    channel: str
    sent_to: str = Field(..., description="Masked.", examples=["138****5678"])
    expires_at: datetime


class ConfirmIn(InputSchema):
    channel: Literal["phone", "email"]
    code: str = Field(..., min_length=1, max_length=12, strict=True)


def _contact(contact: VerifiedContact) -> dict:
    return {
        "channel": contact.channel,
        "address": verification.masked(contact.channel, contact.address),
        "verified_at": contact.verified_at,
    }


@router.get(
    "/verification",
    auth=django_auth,
    response={200: VerificationOut, 401: ErrorOut},
    summary="My verified phone and email",
)
def my_verification(request):
    """The contacts this account has verified (masked)."""
    rows = VerifiedContact.objects.filter(user=request.auth).order_by("verified_at")
    return {"verified": [_contact(c) for c in rows]}


@router.post(
    "/verification/codes",
    auth=django_auth,
    response={202: CodeOut, **_ERRORS},
    summary="Send a one-time code to a phone or email",
)
def send_code(request, payload: CodeIn):
    """Sends a six-digit code valid for ten minutes; an earlier code stops working.
    429 ``rate_limited`` when codes are asked too often."""
    row = verification.request_code(
        user=request.auth,
        channel=payload.channel,
        address=payload.address,
        now=clock_now(),
        environ=request.META,
    )
    return Status(
        202,
        {
            "channel": row.channel,
            "sent_to": verification.masked(row.channel, row.address),
            "expires_at": row.expires_at,
        },
    )


@router.post(
    "/verification/confirm",
    auth=django_auth,
    response={200: ContactOut, **_ERRORS},
    summary="Confirm a one-time code",
)
def confirm(request, payload: ConfirmIn):
    """422 ``code_invalid`` (wrong, counted), ``code_attempts_exhausted`` after five wrong
    codes, ``code_expired`` (expired, replaced or already used)."""
    from tessera.ratelimit.limits import enforce

    enforce(request.META, "verify_confirm", account=request.auth.pk)
    contact = verification.confirm_code(
        user=request.auth, channel=payload.channel, code=payload.code, now=clock_now()
    )
    return _contact(contact)
