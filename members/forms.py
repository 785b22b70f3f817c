from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import URLValidator

from members import branding
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


class BrandingForm(forms.Form):
    """The project's look on the pay page and receipt (members.branding checks each part)."""

    logo = forms.FileField(
        required=False,
        help_text="PNG, JPEG or WebP, at most 256 KB and 1024×1024 pixels. SVG is not accepted.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)
    brand_colour = forms.CharField(
        label="Brand colour",
        max_length=7,
        required=False,
        help_text="As #rrggbb, such as #1a7f37. Buttons take this colour; the text on them is white or dark, "
        "whichever reads better. Leave empty for payram's blue.",
        widget=forms.TextInput(attrs={"placeholder": "#1a7f37", "autocomplete": "off", "spellcheck": "false"}),
    )
    brand_message = forms.CharField(
        label="Message to customers",
        max_length=280,
        required=False,
        help_text="Optional, up to 280 characters, shown on the pay page and the receipt.",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 280}),
    )

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        return branding.clean_logo(upload)

    def clean_brand_colour(self) -> str:
        colour = branding.normalise_colour(self.cleaned_data.get("brand_colour", ""))
        if colour:
            branding.text_colour_on(colour)
        return colour
