from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from links.models import LinkStatus, PaymentLink
from members.models import Member

pytestmark = pytest.mark.django_db


def _post(client, project, **overrides):
    data = {
        "project": project.pk,
        "member": "alice@example.com",
        "currency": "USD",
        "amount": "25.50",
        "description": "Two coffees",
        "expires_at": "",
    }
    data.update(overrides)
    return client.post("/payments/new/", data)


def test_generate_payment_link_redirects_to_its_page(merchant_client, merchant, project, member):
    page = merchant_client.get("/payments/new/").content.decode()
    assert "Generate Payment Link" in page
    response = _post(merchant_client, project, member="ALICE@Example.com")
    link = PaymentLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/payments/{link.code}/"
    assert link.amount == Decimal("25.50") and isinstance(link.amount, Decimal)
    assert (link.member, link.project, link.currency, link.status, link.created_by) == (
        member,
        project,
        "USD",
        LinkStatus.PENDING,
        merchant,
    )
    assert len(link.code) >= 22 and not link.code.isdigit()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("amount", "", "This field is required."),
        ("amount", "0", "greater than zero"),
        ("amount", "-5", "greater than zero"),
        ("amount", "1.234", "at most 2 decimal places"),
        ("amount", "1000000000.01", "at most 1,000,000,000"),
        ("amount", "99999999999", "at most 1,000,000,000"),
        ("amount", "abc", "Enter an amount"),
        ("amount", "NaN", "Enter an amount"),
        ("amount", "1e9", "Enter an amount such as 25 or 19.99."),  # a billion by a slip of the keyboard
        ("amount", "2E-1", "Enter an amount such as 25 or 19.99."),
        ("description", "x" * 501, "at most 500 characters"),
        ("member", "", "This field is required."),
        ("member", "nobody@example.com", "has no member nobody@example.com"),
        ("expires_at", "2020-01-01T10:00", "must be in the future"),
        ("expires_at", "tomorrow", "Enter a valid date/time."),
        ("currency", "BTC", "Select a valid choice"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(merchant_client, project, member, field, value, message):
    response = _post(merchant_client, project, **{field: value})
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not PaymentLink.objects.exists()


def test_the_largest_amount_is_accepted(merchant_client, project, member):
    assert _post(merchant_client, project, amount="1000000000").status_code == 302
    assert PaymentLink.objects.get().amount == Decimal("1000000000.00")


def test_member_of_another_of_my_projects_is_refused(merchant_client, merchant, project):
    from members.models import Project

    second = Project.objects.create(name="Second Shop")
    second.owners.add(merchant)
    Member.objects.create(project=second, email="bob@example.com")
    response = _post(merchant_client, project, member="bob@example.com")
    assert response.status_code == 400
    assert "member of another project" in str(response.context["form"].errors["member"])
    assert not PaymentLink.objects.exists()


def test_another_merchants_project_or_member_cannot_be_used(merchant_client, project, member, other_project):
    Member.objects.create(project=other_project, email="spy@example.com")
    response = _post(merchant_client, other_project, member="spy@example.com")
    assert response.status_code == 400
    assert "Choose one of your projects." in str(response.context["form"].errors["project"])
    response = _post(merchant_client, project, member="spy@example.com")
    assert response.status_code == 400
    assert "has no member spy@example.com" in str(response.context["form"].errors["member"])
    assert not PaymentLink.objects.exists()


def test_future_expiry_is_saved(merchant_client, project, member):
    when = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    response = _post(merchant_client, project, expires_at=when.strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 302
    assert PaymentLink.objects.get().expires_at == when


def test_without_a_project_the_form_says_to_create_one(merchant_client):
    page = merchant_client.get("/payments/new/").content.decode()
    assert "You need a project first" in page
