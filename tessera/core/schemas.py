"""API schemas shared by every router: the one error shape."""

from ninja import Schema
from pydantic import BaseModel, ConfigDict


class ErrorBodyOut(Schema):
    code: str
    message: str
    details: dict


class ErrorOut(Schema):
    """``{"error": {"code", "message", "details"}}``, whatever went wrong."""

    error: ErrorBodyOut


class InputSchema(BaseModel):
    """Base of request bodies: a JSON object with exactly these fields.

    Ninja's ``Schema`` reads attributes of whatever it is given, so a string or an array in
    place of an object would pass with every field at its default; a plain pydantic model
    refuses anything but an object, and unknown fields too.
    """

    model_config = ConfigDict(extra="forbid")
