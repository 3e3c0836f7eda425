from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tessera.apikeys.services import MAX_OVERLAP_HOURS, MAX_RATE_PER_MINUTE, NAME_LENGTH
from tessera.partners.scopes import SCOPES

OVERLAPS = (
    (1, _("1 hour")),
    (24, _("24 hours")),
    (72, _("3 days")),
    (168, _("7 days")),
    (0, _("None: the old key stops now")),
)
MAX_EXPIRY_DAYS = 5 * 366


class KeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH, strip=True)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=list(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one scope.")},
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The key stops working at the end of this day. Empty: no expiry."),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=_("Requests per minute"),
        min_value=0,
        max_value=MAX_RATE_PER_MINUTE,
        initial=600,
        help_text=_("Calls beyond this are refused with 429 and Retry-After. 0: no limit."),
    )
    channel = forms.ChoiceField(label=_("Sales channel"), required=False)
    sandbox = forms.BooleanField(
        label=_("Sandbox key (tsk_test_…): sells only your sandbox world's sessions"),
        required=False,
    )

    def __init__(self, *args, channels=(), now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        self.channel_rows = {str(c.pk): c for c in channels}
        self.fields["channel"].choices = [(str(c.pk), f"{c.name} ({c.code})") for c in channels]
        self.initial.setdefault("scopes", list(SCOPES))

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        zone = timezone.get_current_timezone()
        ends = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        if ends <= self.now:
            raise forms.ValidationError(_("Choose a day that has not passed."))
        if ends > self.now + timedelta(days=MAX_EXPIRY_DAYS):
            raise forms.ValidationError(_("Choose a day within five years."))
        return ends

    def clean_channel(self):
        value = self.cleaned_data.get("channel") or ""
        if not value:
            return None
        return self.channel_rows.get(value)


class RotateForm(forms.Form):
    overlap_hours = forms.TypedChoiceField(
        label=_("The old key keeps working for"),
        choices=OVERLAPS,
        coerce=int,
        initial=24,
    )


assert max(h for h, _label in OVERLAPS) <= MAX_OVERLAP_HOURS
