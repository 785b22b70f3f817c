from decimal import Decimal

import pytest

from links.services import link_create

pytestmark = pytest.mark.django_db


def test_admin_lists_projects_members_links_and_quotes(admin_client, project, member):
    link = link_create(project=project, member=member, amount=Decimal("7.25"), description="Admin check")
    for url, expected in [
        ("/admin/members/project/", "Corner Shop"),
        ("/admin/members/member/", "alice@example.com"),
        ("/admin/links/paymentlink/", link.code),
        ("/admin/links/quote/", "0 quotes"),
        (f"/admin/links/paymentlink/{link.pk}/change/", "Admin check"),
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url


def test_admin_shows_settlements_and_refunds_read_only(admin_client, project, member):
    from links.models import LinkSettlement, PaymentLink, Refund

    link = PaymentLink.objects.create(project=project, member=member, amount=1)
    LinkSettlement.objects.create(
        link=link, settled_by_name="ana", note="cash", status_before="pending", detail_before="underpaid"
    )
    refund = Refund.objects.create(
        link=link, network="devnet", asset="USDC", amount=1, reason="overpaid", requested_by_name="ana"
    )
    assert refund.code in admin_client.get("/admin/links/refund/").content.decode()
    assert "ana" in admin_client.get("/admin/links/linksettlement/").content.decode()
    assert admin_client.get("/admin/links/refund/add/").status_code == 403
