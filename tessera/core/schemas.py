"""API schemas shared by every router: the one error shape."""

from ninja import Schema


class ErrorBodyOut(Schema):
    code: str
    message: str
    details: dict


class ErrorOut(Schema):
    """``{"error": {"code", "message", "details"}}``, whatever went wrong."""

    error: ErrorBodyOut
