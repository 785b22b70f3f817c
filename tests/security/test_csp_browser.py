"""Every page under the real Content-Security-Policy in headless Chromium: no violation
reported (no inline script, style attribute, event handler or injected <style>)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from links.models import PaymentLink, Quote
from tests.links.pay_support import deposit, make_link
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
});
"""


def _violations(page, url: str, console: list[str], *, settle_ms: int = 600) -> list[str]:
    console.clear()
    response = page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(settle_ms)  # htmx initialises after DOMContentLoaded (deferred scripts)
    found = page.evaluate("window.__csp || []") + [m for m in console if "Content Security Policy" in m]
    assert response is not None and response.headers.get("content-security-policy"), f"{url}: no CSP header"
    return found


def _watch(page) -> list[str]:
    console: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda msg: console.append(msg.text))
    return console


def _pay_links(world) -> dict[str, str]:
    """One link per state the pay page can be in."""
    project, member = world.project_a, world.member_a
    picker = make_link(project, member, description="picker")
    expired = make_link(project, member, description="expired quote")
    from links.checkout import quote_create

    quote_create(link=expired, network="devnet", asset="USDC")
    Quote.objects.filter(link=expired).update(expires_at=timezone.now() - timedelta(minutes=1))
    seen = make_link(project, member, description="in mempool")
    q = quote_create(link=seen, network="devnet", asset="USDC")
    deposit(q.deposit_address, int(q.amount_due), confirmations=0)
    paid = make_link(project, member, description="paid")
    q = quote_create(link=paid, network="devnet", asset="USDC")
    deposit(q.deposit_address, int(q.amount_due), confirmations=50)
    cancelled = make_link(project, member, description="cancelled")
    PaymentLink.objects.filter(pk=cancelled.pk).update(cancelled_at=timezone.now(), status="cancelled")
    return {
        "picker": f"/pay/{picker.code}/",
        "picker-change": f"/pay/{world.link_a.code}/?change=1",
        "awaiting payment (QR)": f"/pay/{world.link_a.code}/",
        "quote expired": f"/pay/{expired.code}/",
        "payment in mempool": f"/pay/{seen.code}/",
        "paid": f"/pay/{paid.code}/",
        "cancelled": f"/pay/{cancelled.code}/",
        "not found": "/pay/no-such-link/",
        "status fragment": f"/pay/{world.link_a.code}/status/",
    }


def test_pay_page_in_every_state_runs_under_the_csp(world, live_server, new_context):
    page = new_context().new_page()
    console = _watch(page)
    problems = {}
    for state, path in _pay_links(world).items():
        found = _violations(page, live_server.url + path, console)
        if found:
            problems[state] = found
    assert not problems, f"CSP violations on the pay page: {problems}"


def test_rate_limited_pay_page_runs_under_the_csp(world, live_server, new_context, settings):
    settings.PAYRAM_RATE_LIMITS = {"pay_page_ip": (1, 60)}
    cache.clear()
    page = new_context().new_page()
    console = _watch(page)
    url = f"{live_server.url}/pay/{world.link_a.code}/"
    _violations(page, url, console, settle_ms=0)
    assert _violations(page, url, console) == []
    assert "Too many requests" in page.content()


def _dashboard_paths(world) -> list[str]:
    link, member, project = world.link_a, world.member_a, world.project_a
    return [
        "/",  # the Overview: its chart is inline SVG
        "/payments/",
        "/payments/?from=2020-01-01",  # with the totals of the filtered view
        "/payments/new/",
        f"/payments/{link.code}/",
        f"/payments/{link.code}/cancel/",
        "/members/",
        "/members/new/",
        f"/members/{member.pk}/",
        "/members/projects/",
        f"/members/projects/{project.pk}/",
        f"/members/projects/{project.pk}/api-keys/",
        "/chain/wallets/",
        "/chain/health/",
        "/webhooks/",
        "/webhooks/new/",
        "/password_change/",
    ]


def test_dashboard_pages_run_under_the_csp(world, live_server, new_context, password):
    page = new_context().new_page()
    console = _watch(page)
    login_problems = _violations(page, live_server.url + "/login/", console)
    log_in(page, live_server.url, world.merchant_a.username, password)
    problems = {"/login/": login_problems} if login_problems else {}
    for path in _dashboard_paths(world):
        found = _violations(page, live_server.url + path, console)
        if found:
            problems[path] = found
    assert not problems, f"CSP violations on dashboard pages: {problems}"


def test_admin_runs_under_the_csp(world, live_server, new_context, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "admin-pass-123")
    page = new_context().new_page()
    console = _watch(page)
    problems = {}
    login = _violations(page, live_server.url + "/admin/login/", console)
    if login:
        problems["/admin/login/"] = login
    page.fill("#id_username", "root")
    page.fill("#id_password", "admin-pass-123")
    page.click("input[type=submit]")
    page.wait_for_load_state("load")
    paths = [
        "/admin/",
        "/admin/links/paymentlink/",
        f"/admin/links/paymentlink/{world.link_a.pk}/change/",
        "/admin/members/project/",
        f"/admin/members/project/{world.project_a.pk}/change/",
        "/admin/members/member/add/",
        "/admin/auth/user/",
    ]
    for path in paths:
        found = _violations(page, live_server.url + path, console)
        if found:
            problems[path] = found
    assert not problems, f"CSP violations in the admin: {problems}"
