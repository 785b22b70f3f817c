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
