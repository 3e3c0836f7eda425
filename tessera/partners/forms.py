"""The onboarding pages' forms: they parse; the services judge (their refusals are shown
next to the fields they name)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Role
from tessera.partners.models import CommissionBasis, PartnerKind, SettlementCycle

RULE_ROWS = 3
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ApplicationForm(forms.Form):
    kind = forms.ChoiceField(label=_("We apply as"), choices=PartnerKind.choices)
    legal_name = forms.CharField(label=_("Legal name (as on the business licence)"), max_length=120)
    legal_name_en = forms.CharField(label=_("English name"), max_length=120, required=False)
    licence_number = forms.CharField(
        label=_("Unified social credit code"),
        max_length=40,
        help_text=_("18 characters, on the business licence (统一社会信用代码)."),
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=60)
    contact_email = forms.CharField(
        label=_("Contact email"), max_length=254, widget=forms.EmailInput
    )
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32)
    bank_name = forms.CharField(label=_("Bank (branch)"), max_length=80)
    bank_account_name = forms.CharField(label=_("Account name"), max_length=120)
    bank_account_number = forms.CharField(
        label=_("Account number"),
        max_length=40,
        help_text=_("Kept encrypted; pages show only its last four digits."),
    )


class ApprovalForm(forms.Form):
    slug = forms.CharField(
        label=_("Short name (web address, channel code)"),
        max_length=40,
        help_text=_("Lower-case letters, digits and hyphens."),
    )
    platform_fee_percent = forms.DecimalField(
        label=_("Platform fee (%)"),
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=2,
    )
    settlement_cycle = forms.ChoiceField(
        label=_("Settlement cycle"), choices=SettlementCycle.choices
    )
    credit_limit = forms.DecimalField(
        label=_("Credit limit (CNY)"),
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
        initial=Decimal("0"),
    )
    prepaid = forms.BooleanField(label=_("Prepaid balance instead of credit"), required=False)
    starts_on = forms.DateField(label=_("Contract starts on"), widget=DATE)
    ends_on = forms.DateField(label=_("Contract ends on"), required=False, widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(RULE_ROWS):
            self.fields[f"rule{i}_basis"] = forms.ChoiceField(
                label=_("Commission"),
                choices=[("", _("No rule")), *CommissionBasis.choices],
                required=False,
            )
            self.fields[f"rule{i}_value"] = forms.DecimalField(
                label=_("Value"),
                min_value=Decimal("0"),
                max_digits=12,
                decimal_places=2,
                required=False,
            )
            self.fields[f"rule{i}_min_tickets"] = forms.IntegerField(
                label=_("Tier from (tickets)"),
                min_value=0,
                max_value=10**9 - 1,
                required=False,
            )

    def rule_rows(self):
        return [
            (self[f"rule{i}_basis"], self[f"rule{i}_value"], self[f"rule{i}_min_tickets"], i)
            for i in range(RULE_ROWS)
        ]

    def clean(self):
        data = super().clean()
        for i in range(RULE_ROWS):
            if data.get(f"rule{i}_basis") and data.get(f"rule{i}_value") is None:
                self.add_error(f"rule{i}_value", _("Enter the commission's value."))
        return data


class RejectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the applicant reads it)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class InvitationForm(forms.Form):
    email = forms.CharField(label=_("Email address"), max_length=254, widget=forms.EmailInput)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.STAFF)


class RoleForm(forms.Form):
    membership = forms.IntegerField(min_value=1, max_value=2**62)
    role = forms.ChoiceField(choices=Role.choices)


class MemberForm(forms.Form):
    membership = forms.IntegerField(min_value=1, max_value=2**62)


class InvitationIdForm(forms.Form):
    invitation = forms.IntegerField(min_value=1, max_value=2**62)
