from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from django import forms
from django.utils import timezone

from members.models import Member, Project
from payram.lib.fields import PlainDecimalField

MAX_AMOUNT = Decimal("1000000000")
CURRENCIES = [("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP")]


class PaymentLinkFields(forms.Form):
    """What a payment link asks for, and its rules and messages: the one place both the
    dashboard's Create Payment Link form and the REST API (links.api.views) validate with."""

    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")
    amount = PlainDecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00", "autocomplete": "off"}),
        error_messages={
            "min_value": "Enter an amount greater than zero.",
            "max_value": "The amount can be at most 1,000,000,000.",
            "max_decimal_places": "Use at most 2 decimal places.",
            "max_digits": "The amount can be at most 1,000,000,000.",
            "max_whole_digits": "The amount can be at most 1,000,000,000.",
            "invalid": "Enter an amount such as 25 or 19.99.",
        },
    )
    description = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What is this payment for?"}),
        help_text="Optional. Shown to the customer. At most 500 characters.",
    )
    expires_at = forms.DateTimeField(
        label="Expires",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="Optional. After this time the link can no longer be paid.",
    )

    def clean_description(self) -> str:
        return self.cleaned_data["description"].strip()

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at:
            # The same instant in UTC: PostgreSQL refuses offsets past ±15:59 (ISO 8601 from the API allows any).
            try:
                expires_at = expires_at.astimezone(UTC)
            except OverflowError:  # 9999-12-31T23:00-05:00 is past year 9999 in UTC
                raise forms.ValidationError("Enter a valid date/time.") from None
        if expires_at and expires_at <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return expires_at


class PaymentLinkForm(PaymentLinkFields):
    """Create Payment Link. The member is named by email and must belong to the chosen project."""

    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label=None)
    member = forms.CharField(
        max_length=254,
        help_text="Type to search this project's members.",
        widget=forms.TextInput(attrs={"placeholder": "Search by email or name", "autocomplete": "off", "spellcheck": "false"}),
    )
    field_order = ["project", "member", "currency", "amount", "description", "expires_at"]

    def __init__(self, *args, projects, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
        self.fields["project"].error_messages["invalid_choice"] = "Choose one of your projects."
        self.fields["project"].widget.attrs["data-clears-member"] = ""
        self.fields["expires_at"].label = f"Expires ({timezone.get_current_timezone_name()})"

    def clean(self):
        cleaned = super().clean()
        project: Project | None = cleaned.get("project")
        email = (cleaned.get("member") or "").strip().lower()
        if project is None or not email:
            return cleaned
        member = Member.objects.filter(project=project, email__iexact=email).first()
        if member is None:
            elsewhere = Member.objects.filter(project__in=self.fields["project"].queryset, email__iexact=email).exclude(
                project=project
            )
            if elsewhere.exists():
                self.add_error("member", f"{email} is a member of another project, not {project.name}.")
            else:
                self.add_error("member", f"{project.name} has no member {email}. Use “Add New Member” to add them.")
        else:
            cleaned["member_obj"] = member
        return cleaned
