"""The webhook endpoint form (URL, events). The address guard runs in links.notifications.webhooks,
so the dashboard and any other caller refuse the same URLs with the same message."""

from __future__ import annotations

from django import forms

from links.notifications.models import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    project = forms.TypedChoiceField(coerce=int, choices=())
    url = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://shop.example.com/payram/webhook", "autocomplete": "off"}),
        help_text="payram POSTs signed JSON here. It must answer 2xx within 10 seconds.",
    )
    events = forms.MultipleChoiceField(
        choices=list(EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        initial=list(EVENT_TYPES),
        error_messages={"required": "Pick at least one event to send."},
    )

    def __init__(self, *args, projects=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.pk, p.name) for p in projects]
        if len(self.fields["project"].choices) == 1:
            self.fields["project"].initial = self.fields["project"].choices[0][0]
