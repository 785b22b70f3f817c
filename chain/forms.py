"""Forms for the Wallets page. The key field never renders a submitted value back: a
refused paste may be a private key or a seed phrase, and must not travel back into the
page, the browser's form restore, or a screenshot."""

from __future__ import annotations

from django import forms

from chain import catalogue, hd

MAX_CONFIRMATIONS = 10_000


class SecretSafeTextInput(forms.TextInput):
    """A text input that is always rendered empty."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


class WalletKeyForm(forms.Form):
    xpub = forms.CharField(
        label="Extended public key or output descriptor",
        max_length=300,
        strip=True,
        widget=SecretSafeTextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "off",
                "autocorrect": "off",
                "spellcheck": "false",
                "class": "mono",
            }
        ),
    )
    script_type = forms.ChoiceField(
        label="Address type",
        required=False,
        choices=[("", "As the key's prefix says (recommended)"), *hd.BITCOIN_SCRIPT_TYPES.items()],
        help_text="Only if your wallet exports an “xpub” for a SegWit or Taproot account: compare the 3 addresses after saving. A descriptor sets the type itself.",
    )

    def __init__(self, *args, family: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.family = family
        params = hd.family_params(family)
        account_based = params.evm or params.tron
        self.fields["xpub"].widget.attrs["placeholder"] = (
            "xpub6…" if account_based else ("vpub5…" if params.testnet else "zpub6…")
        )
        if account_based:
            del self.fields["script_type"]


class ConfirmationsForm(forms.Form):
    """One optional integer per network: blank means the catalogue default."""

    def __init__(self, *args, networks: list[catalogue.Network], current: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.networks = networks
        for net in networks:
            value = current.get(net.slug)
            self.fields[net.slug] = forms.IntegerField(
                label=net.name,
                required=False,
                min_value=1,
                max_value=MAX_CONFIRMATIONS,
                initial=value if value else None,
                widget=forms.NumberInput(attrs={"placeholder": str(net.confirmations), "inputmode": "numeric"}),
                help_text=f"Default {net.confirmations}",
            )

    def thresholds(self) -> dict[str, int | None]:
        return {net.slug: self.cleaned_data.get(net.slug) for net in self.networks}

    def rows(self):
        for net in self.networks:
            yield net, self[net.slug]
