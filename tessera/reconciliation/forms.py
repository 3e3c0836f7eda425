from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tessera.payments.models import Provider
from tessera.reconciliation.parsers import MAX_BYTES

PROVIDER_CHOICES = [
    (Provider.ALIPAY, Provider.ALIPAY.label),
    (Provider.WECHAT, Provider.WECHAT.label),
    (Provider.SANDBOX, Provider.SANDBOX.label),
]


def _clean_day(value: date) -> date:
    if not date(2000, 1, 1) <= value <= date(2100, 12, 31):
        raise ValidationError(_("Choose a day between 2000 and 2100."))
    return value


class DayForm(forms.Form):
    provider = forms.ChoiceField(label=_("Provider"), choices=PROVIDER_CHOICES)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_day(self):
        return _clean_day(self.cleaned_data["day"])


class ImportForm(DayForm):
    file = forms.FileField(label=_("Statement file (CSV)"), required=False)
    generate = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if data.get("generate"):
            if data.get("provider") != Provider.SANDBOX:
                raise ValidationError(_("Only the sandbox's statement can be generated here."))
            return data
        if upload is None:
            raise ValidationError(_("Choose the statement file to import."))
        if upload.size > MAX_BYTES:
            raise ValidationError(_("The file is larger than 20 MB."))
        return data


class ResolveForm(forms.Form):
    action = forms.CharField(max_length=30)
    note = forms.CharField(max_length=500, required=False)
