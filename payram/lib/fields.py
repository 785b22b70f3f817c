"""Fields for amounts. BaseUnitsField, a model field for on-chain amounts: non-negative integers in base units up to uint256.

PostgreSQL stores them as numeric(78, 0), exact. SQLite has no exact type that wide
(INTEGER stops at 2**63, REAL rounds, and Django reads decimals through a 15-digit
context), so there the column is text holding the decimal digits. Values come back as
Decimal with no fractional part either way. Never sort or sum these in SQL on SQLite:
sum in Python (values are few per link)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

MAX_UINT256 = 2**256 - 1


class BaseUnitsField(models.Field):
    description = "Amount in base units (non-negative integer up to 2**256-1)"

    def db_type(self, connection) -> str:
        if connection.vendor == "postgresql":
            return "numeric(78, 0)"
        return "varchar(78)"

    def rel_db_type(self, connection) -> str:
        return self.db_type(connection)

    def to_python(self, value):
        if value is None or isinstance(value, Decimal) and value == value.to_integral_value():
            return value
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise ValidationError(f"{value!r} is not a whole number of base units", code="invalid") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise ValidationError(f"{value!r} is not a whole number of base units", code="invalid")
        if number < 0 or number > MAX_UINT256:
            raise ValidationError("amount is out of range (0 to 2**256-1)", code="invalid")
        return Decimal(int(number))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return Decimal(int(value)) if not isinstance(value, str) else Decimal(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return self.to_python(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None:
            return None
        return value if connection.vendor == "postgresql" else str(int(value))

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.DecimalField, "max_digits": 78, "decimal_places": 0, **kwargs})


class PlainDecimalField(forms.DecimalField):
    """A decimal written out in digits: "1e9" or "2E-2" is refused like any other
    non-amount, since a typo in a form or a JSON number written with an exponent
    must not quietly ask for a billion."""

    def to_python(self, value):
        if value not in self.empty_values and "e" in str(value).lower():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)
