"""Attendees over HTTP: list (masked), add, remove. Every endpoint needs a signed-in account.

A document number goes in once and never comes back: answers carry the masked number only.
"""

from datetime import datetime
from typing import Literal

from ninja import Field, Router, Schema, Status
from ninja.security import django_auth
from pydantic import field_validator

from tessera.core.clock import now as clock_now
from tessera.core.schemas import ErrorOut, InputSchema
from tessera.identities import services
from tessera.identities.documents import MAX_RAW_LENGTH, DocumentType
from tessera.identities.models import Attendee

router = Router(tags=["attendees"])

_ERRORS = {401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class AttendeeIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=40, strict=True)
    doc_type: Literal["resident_id", "passport", "hk_macau_permit", "taiwan_permit"] = Field(
        ..., description="Mainland resident ID, passport, HK/Macau or Taiwan permit."
    )
    number: str = Field(..., min_length=1, max_length=MAX_RAW_LENGTH, strict=True)

    @field_validator("name", "number")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class AttendeeOut(Schema):
    id: int
    name: str
    doc_type: str
    doc_type_label: str
    masked_number: str = Field(..., examples=["1101**********1234"])
    created_at: datetime


def _out(attendee: Attendee) -> dict:
    return {
        "id": attendee.pk,
        "name": attendee.name,
        "doc_type": attendee.doc_type,
        "doc_type_label": str(DocumentType(attendee.doc_type).label),
        "masked_number": attendee.masked,
        "created_at": attendee.created_at,
    }


@router.get(
    "/attendees",
    auth=django_auth,
    response={200: list[AttendeeOut], **_ERRORS},
    summary="My attendees",
)
def list_attendees(request):
    """The people you buy real-name tickets for, numbers masked."""
    return [_out(a) for a in services.list_attendees(user=request.auth)]


@router.post(
    "/attendees",
    auth=django_auth,
    response={201: AttendeeOut, **_ERRORS},
    summary="Add an attendee",
)
def add_attendee(request, payload: AttendeeIn):
    """Add a person with an identity document. The number is checked (a resident ID's
    region, birth date and check digit; the others' formats), stored encrypted, answered
    masked. 409 ``attendee_exists`` for a document already in your list."""
    attendee = services.add_attendee(
        user=request.auth,
        name=payload.name,
        doc_type=payload.doc_type,
        number=payload.number,
        now=clock_now(),
    )
    return Status(201, _out(attendee))


@router.delete(
    "/attendees/{attendee_id}",
    auth=django_auth,
    response={204: None, **_ERRORS},
    summary="Remove an attendee",
)
def remove_attendee(request, attendee_id: int):
    """Remove a person from your list; tickets already bought keep their identity."""
    services.remove_attendee(user=request.auth, attendee_id=attendee_id, now=clock_now())
    return Status(204, None)
