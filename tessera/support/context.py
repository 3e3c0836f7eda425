"""Template context of every page: the large text mode and the help chat's settings."""

from tessera.support.views import LARGE_TEXT_COOKIE


def support(request) -> dict:
    """``large_text``: this device's choice (cookie), else the account's; no query when the
    device has chosen. ``large_text_suggested``: the account asked for elder-friendly help
    and no choice was made on this device yet."""
    choice = request.COOKIES.get(LARGE_TEXT_COOKIE)
    suggested = False
    if choice in ("0", "1"):
        on = choice == "1"
    else:
        on = False
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from tessera.support.models import SupportPreference

            preference = SupportPreference.objects.filter(user=user).first()
            if preference is not None:
                on = preference.large_text
                suggested = preference.needs_assistance and not preference.large_text
    return {"large_text": on, "large_text_suggested": suggested}
