from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import URLValidator

from members.models import Member, Project, Role
from payram.lib.fields import PlainDecimalField


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=100)
    return_url = forms.CharField(
        label="Return URL",
        max_length=500,
        required=False,
        validators=[URLValidator(schemes=["http", "https"], message="Enter a web address starting with http:// or https://.")],
        help_text="Optional. Where the customer goes back to after paying.",
        widget=forms.URLInput(attrs={"placeholder": "https://shop.example.com/thanks"}),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the project a name.")
        return name


class ProjectEditForm(ProjectForm):
    underpayment_tolerance = PlainDecimalField(
        label="Underpayment tolerance (%)",
        min_value=0,
        max_value=10,
        max_digits=4,
        decimal_places=2,
        initial=0,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text="Consider a payment paid if it is at most this percent short of the amount due (0: exact). "
        "The link shows it as “Paid, short by …”. A remainder smaller than the network can carry is always accepted.",
        error_messages={
            "min_value": "Enter a percentage from 0 to 10.",
            "max_value": "Enter a percentage from 0 to 10.",
            "invalid": "Enter a percentage such as 0 or 0.5.",
            "max_decimal_places": "Use at most 2 decimal places.",
            "max_digits": "Enter a percentage from 0 to 10.",
            "max_whole_digits": "Enter a percentage from 0 to 10.",
        },
    )

    def clean_underpayment_tolerance(self):
        return self.cleaned_data.get("underpayment_tolerance") or 0


class MemberForm(forms.Form):
    """Add a member. `projects` is the merchant's own projects: nothing else can be chosen."""

    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    name = forms.CharField(max_length=100, required=False, help_text="Optional.")
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label=None)

    def __init__(self, *args, projects, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
        self.fields["project"].error_messages["invalid_choice"] = "Choose one of your projects."

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class MemberEditForm(forms.Form):
    email = forms.EmailField(max_length=254)
    name = forms.CharField(max_length=100, required=False, help_text="Optional.")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    @classmethod
    def for_member(cls, member: Member, data=None) -> MemberEditForm:
        return cls(data, initial={"email": member.email, "name": member.name})


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses this key, such as “Shop checkout” or “CRM sync”.",
        widget=forms.TextInput(attrs={"placeholder": "Shop checkout", "autocomplete": "off"}),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the key a name, such as the shop or script that uses it.")
        return name


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.STAFF,
        help_text="Staff create, share and cancel links, manage members and see payments. Owners can do everything.",
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class InviteSignupForm(UserCreationForm):
    """A new account for an invited address: the email is the invitation's, not typed."""

    class Meta(UserCreationForm.Meta):
        fields = ("username",)
