"""API schemas shared by every router: the one error shape, and the base of request bodies.

Request bodies derive from ``InputSchema``: a JSON object with exactly the declared fields,
every string free of control characters and lone surrogates (PostgreSQL cannot store a NUL,
and neither database an unpaired surrogate). Numbers that name rows are ``Id`` (a strict
integer a database column can hold: ``true`` and ``"1"`` are refused, not taken as 1);
counts are ``StrictInt`` with bounds; emails are ``Email``.
"""

import re
from typing import Annotated

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator

MAX_ID = 2**63 - 1  # the largest value of a bigint column

# C0 controls except tab, line feed and carriage return; DEL; lone UTF-16 surrogates.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class ErrorBodyOut(Schema):
    code: str
    message: str
    details: dict


class ErrorOut(Schema):
    """``{"error": {"code", "message", "details"}}``, whatever went wrong."""

    error: ErrorBodyOut


def refuse_control_characters(value):
    """``value`` unchanged; a string (or a string inside lists and dicts) with a control
    character raises ValueError."""
    if isinstance(value, str):
        if CONTROL_CHARACTERS.search(value):
            raise ValueError("Control characters (such as NUL) are not allowed.")
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_control_characters(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_control_characters(key)
            refuse_control_characters(item)
    return value


def _email_or_empty(value: str) -> str:
    value = value.strip()
    if value:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise ValueError("Enter a valid email address.") from exc
    return value


Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email_or_empty)]


class InputSchema(BaseModel):
    """Base of request bodies: a JSON object with exactly these fields.

    Ninja's ``Schema`` reads attributes of whatever it is given, so a string or an array in
    place of an object would pass with every field at its default; a plain pydantic model
    refuses anything but an object, and unknown fields too. Every field's value is checked
    for control characters (``refuse_control_characters``).
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value):
        return refuse_control_characters(value)
