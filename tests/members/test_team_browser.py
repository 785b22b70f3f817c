"""The team journey in a real browser: the owner invites a teammate as staff, the
teammate opens the invitation on a phone, signs up and works (creates a link, sees
payments) without reaching owner-only pages; the dashboard says who made each link;
the owner removes them and their next page shows nothing of the project.

Set PAYRAM_SHOTS=/some/dir to keep full-page screenshots at 390 and 1280 px."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from links.models import PaymentLink
from members.models import TeamMember
from tests.links.pay_support import make_link
from tests.support.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("PAYRAM_SHOTS", "")


def _shots(page, name: str) -> None:
    """Both widths of the page as it is now; the page keeps its own width afterwards."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    width = page.viewport_size
    for label, viewport in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(Path(SHOTS) / f"team-{name}-{label}.png"), full_page=True)
    page.set_viewport_size(width)


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0, page.url


def test_invite_a_teammate_who_works_as_staff_then_is_removed(
    logged_in_page, live_server, new_context, project, member, settings
):
    settings.PAYRAM_BASE_URL = live_server.url
    owner = logged_in_page
    owners_link = make_link(project, member, description="Owner's order")
    PaymentLink.objects.filter(pk=owners_link.pk).update(created_by=project.owners.get())

    # Projects → Team → invite sam@example.com as staff.
    owner.goto(f"{live_server.url}/members/projects/")
    owner.click("a:has-text('Team')")
    owner.wait_for_url(re.compile(rf"/members/projects/{project.pk}/team/$"))
    owner.fill("#id_email", "Sam@Example.com")
    owner.select_option("#id_role", "staff")
    owner.click("button:has-text('Send invitation')")
    url = owner.locator("[data-invite-url]").inner_text().strip()
    assert url.startswith(f"{live_server.url}/invite/")
    assert owner.locator("#invitations >> text=sam@example.com").is_visible()
    _shots(owner, "owner-invited")

    # The teammate opens the link on a phone and signs up.
    phone = new_context(viewport=PHONE).new_page()
    phone.goto(url)
    phone.locator("h1:has-text('Join Corner Shop')").wait_for()
    assert "sam@example.com" in phone.inner_text("body") and "staff" in phone.inner_text("body")
    _no_overflow(phone)
    _shots(phone, "invite-signup")
    phone.fill("#id_username", "sam")
    phone.fill("#id_password1", "a-long-pass-phrase-7")
    phone.fill("#id_password2", "a-long-pass-phrase-7")
    phone.click("#accept")
    phone.wait_for_url(re.compile(r"/payments/$"))
    assert TeamMember.objects.get(project=project).user.username == "sam"
    assert phone.locator(f"#payments >> text={member.email}").is_visible()
    assert phone.locator("#payments .created-by").first.inner_text() == "by merchant"

    # As staff: create a link for the project's member.
    phone.goto(f"{live_server.url}/payments/new/")
    phone.fill("#id_member", member.email)
    phone.fill("#id_amount", "19.90")
    phone.fill("#id_description", "Staff's order")
    phone.click("button:has-text('Generate Payment Link')")
    phone.wait_for_url(re.compile(r"/payments/[A-Za-z0-9_-]{20,}/$"))
    assert phone.inner_text("#created-by") == "sam"
    assert phone.locator("#settle-link").count() == 0 and phone.locator("#refund-link").count() == 0
    assert "Ask one of the project's owners to add a wallet" in phone.inner_text("#no-wallet")
    _shots(phone, "staff-link-page")

    # Owner-only pages are refused; the Team page is read-only.
    response = phone.goto(f"{live_server.url}/members/projects/{project.pk}/api-keys/")
    assert response.status == 403
    assert phone.goto(f"{live_server.url}/members/projects/{project.pk}/").status == 403  # project settings
    phone.goto(f"{live_server.url}/members/projects/{project.pk}/team/")
    assert phone.locator("#invite-form").count() == 0 and phone.locator("#team [data-team-user=sam]").is_visible()
    _no_overflow(phone)
    _shots(phone, "staff-team")

    # The owner sees who made each link, then removes sam.
    owner.goto(f"{live_server.url}/payments/")
    assert owner.locator("#payments .created-by").all_inner_texts() == ["by sam", "by merchant"]
    _shots(owner, "owner-all-payments")
    owner.goto(f"{live_server.url}/members/projects/{project.pk}/team/")
    owner.click(f"#remove-{TeamMember.objects.get(project=project).user_id}")
    owner.locator("text=Their access ended now").wait_for()
    assert owner.locator("#team [data-team-user=sam]").count() == 0

    # Sam's very next page: nothing of the project.
    phone.goto(f"{live_server.url}/payments/")
    assert member.email not in phone.inner_text("body")
    assert phone.goto(f"{live_server.url}/payments/{owners_link.code}/").status == 404
