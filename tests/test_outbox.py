"""The one outbox mechanism (payram/lib/outbox.py) on the real database, PostgreSQL or
SQLite, with both tables that use it: webhook deliveries and emails. A row is claimed by
one worker only, a dead worker's lease runs out and the row is tried again, a late
outcome never overwrites a newer claim's, the schedule gives up after its last try, and
the sweep takes the oldest due rows first and stops in time. Each test runs for a webhook
delivery and for an email alike."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from links.models import PaymentLink
from links.notifications import emails, webhooks
from links.notifications.models import (
    DeliveryState,
    EmailKind,
    OutboundEmail,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.webhooks.conftest import committed, endpoint, receiver, shop, webhook_settings  # noqa: F401  (fixtures)

KINDS = ["webhook", "email"]


@dataclasses.dataclass
class Table:
    """One outbox table: its Outbox, a factory for a waiting row due at a given time."""

    outbox: object
    make: object


@pytest.fixture
def table(request, project, member):
    link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("5.00"))
    if request.param == "email":

        def make(due, **kw):
            return OutboundEmail.objects.create(
                link=link,
                kind=EmailKind.LINK_TO_MEMBER,
                recipients=["alice@example.com"],
                from_email="payram@localhost",
                subject="s",
                text="t",
                next_attempt_at=due,
                **kw,
            )

        return Table(emails.OUTBOX, make)
    hook = WebhookEndpoint.objects.create(project=project, url="http://127.0.0.1:1/hook", events=["link.created"])

    def make(due, **kw):
        event = WebhookEvent.objects.create(project=project, link=link, type="link.created", payload={})
        return WebhookDelivery.objects.create(event=event, endpoint=hook, next_attempt_at=due, **kw)

    return Table(webhooks.OUTBOX, make)


def _reload(row):
    row.refresh_from_db()
    return row


def _state(outbox, row):
    return getattr(_reload(row), outbox.state_field)


# Claim and lease


@pytest.mark.django_db
@pytest.mark.parametrize("table", KINDS, indirect=True)
def test_a_row_is_claimed_once_until_its_lease_runs_out_and_a_late_outcome_is_refused(table):
    outbox = table.outbox
    now = timezone.now()
    row = table.make(now)
    assert outbox.claim(row.pk, now - timedelta(seconds=1)) is None  # not due yet

    first = outbox.claim(row.pk, now)
    assert first is not None and first.next_attempt_at == _reload(row).next_attempt_at == now + outbox.lease
    assert outbox.claim(row.pk, now) is None  # a second worker, same moment: loses
    assert outbox.claim(row.pk, now + outbox.lease - timedelta(microseconds=1)) is None  # the lease still holds
    assert outbox.due_ids(now=now + outbox.lease - timedelta(microseconds=1)) == []  # and the sweep does not see it

    # The first worker died (or hangs); its lease runs out and the row is due again.
    later = now + outbox.lease
    assert outbox.due_ids(now=later) == [row.pk]
    second = outbox.claim(row.pk, later)
    assert second is not None and second.next_attempt_at == later + outbox.lease

    # The first worker comes back with an outcome: the row is the second claim's now.
    assert outbox.record(first, ok=True, at=later) is False
    assert (_state(outbox, row), row.attempts, row.next_attempt_at) == (outbox.waiting, 0, later + outbox.lease)
    assert outbox.record(second, ok=True, at=later) is True
    assert (_state(outbox, row), row.attempts, row.next_attempt_at) == (outbox.succeeded, 1, None)
    assert outbox.claim(row.pk, later + timedelta(days=30)) is None  # done rows are never claimed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", KINDS, indirect=True)
def test_workers_racing_for_the_same_rows_each_row_goes_to_exactly_one(table):
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite runs one writer at a time and its shared in-memory test database answers "
            "'table is locked' instead of waiting: concurrent claims are PostgreSQL's to show "
            "(the test above shows the sequential double claim on both)"
        )
    workers, rows = 6, 12
    due = timezone.now() - timedelta(seconds=1)
    ids = [table.make(due).pk for _ in range(rows)]
    start = threading.Barrier(workers)
    won: list[tuple[int, int]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        try:
            start.wait(timeout=30)
            order = ids if number % 2 else ids[::-1]  # half of them meet the others head on
            for pk in order:
                if table.outbox.claim(pk, timezone.now()) is not None:
                    with lock:
                        won.append((pk, number))
        except BaseException as exc:  # noqa: BLE001 - reported below, not lost in the thread
            failures.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert sorted(pk for pk, _ in won) == sorted(ids)  # every row claimed, none twice
    model = table.outbox.model
    assert model.objects.filter(pk__in=ids, next_attempt_at__lte=timezone.now()).count() == 0  # all leased


# The schedule


@pytest.mark.django_db
@pytest.mark.parametrize("table", KINDS, indirect=True)
def test_the_schedule_retries_after_each_wait_and_gives_up_after_the_last(table):
    outbox = dataclasses.replace(table.outbox, schedule=(timedelta(minutes=1), timedelta(minutes=5)))
    assert outbox.max_attempts == 3
    assert [outbox.next_retry_delay(n) for n in range(4)] == [None, timedelta(minutes=1), timedelta(minutes=5), None]
    at = timezone.now()
    row = table.make(at)
    for wait in (timedelta(minutes=1), timedelta(minutes=5)):
        assert outbox.record(outbox.claim(row.pk, at), ok=False, at=at) is True
        assert (_state(outbox, row), row.next_attempt_at) == (outbox.waiting, at + wait)
        assert outbox.claim(row.pk, at + wait - timedelta(seconds=1)) is None
        at += wait
    assert outbox.record(outbox.claim(row.pk, at), ok=False, at=at) is True
    assert (_state(outbox, row), row.attempts, row.next_attempt_at) == (outbox.failed, 3, None)
    assert outbox.claim(row.pk, at + timedelta(days=365)) is None
    assert outbox.due_ids(now=at + timedelta(days=365)) == []


def test_each_table_keeps_its_own_schedule():
    assert webhooks.OUTBOX.schedule == webhooks.RETRY_SCHEDULE and webhooks.OUTBOX.max_attempts == 9
    assert emails.OUTBOX.schedule == emails.RETRY_SCHEDULE and emails.OUTBOX.max_attempts == 6
    assert (webhooks.OUTBOX.lease, emails.OUTBOX.lease) == (timedelta(seconds=60), timedelta(minutes=5))


# The sweep


@pytest.mark.django_db
@pytest.mark.parametrize("table", KINDS, indirect=True)
def test_the_sweep_takes_the_oldest_due_rows_first_and_at_most_a_batch(table):
    now = timezone.now()
    rows = [table.make(now - timedelta(minutes=m)) for m in (3, 9, 1, 5)]  # due, in no order
    table.make(now + timedelta(seconds=1))  # not due yet
    done = table.make(now - timedelta(hours=1))
    table.outbox.record(table.outbox.claim(done.pk, now), ok=True, at=now)  # sent: never due again
    oldest_first = [rows[1].pk, rows[3].pk, rows[0].pk, rows[2].pk]
    assert table.outbox.due_ids(now=now) == oldest_first
    assert table.outbox.due_ids(now=now, limit=2) == oldest_first[:2]

    tried: list[int] = []
    small = dataclasses.replace(table.outbox, batch=3)
    assert small.sweep(lambda pk: tried.append(pk) or pk != rows[1].pk, now=now) == 2
    assert tried == oldest_first[:3]  # a batch, oldest first; the fourth waits for the next pass


@pytest.mark.django_db
@pytest.mark.parametrize("table", KINDS, indirect=True)
def test_the_sweep_stops_starting_tries_when_its_time_is_up_and_goes_on_past_a_broken_row(table, caplog):
    now = timezone.now()
    ids = [table.make(now - timedelta(minutes=10 - m)).pk for m in range(8)]
    tried: list[int] = []

    def slow(pk):
        tried.append(pk)
        if pk == ids[0]:
            raise RuntimeError("a broken row")
        time.sleep(0.3)
        return True

    caplog.set_level(logging.INFO, logger=table.outbox.logger.name)
    bounded = dataclasses.replace(table.outbox, sweep_seconds=0.5)
    made = bounded.sweep(slow, now=now)
    assert 2 <= len(tried) < len(ids) and tried == ids[: len(tried)]  # stopped in time, oldest first
    assert made == len(tried) - 1  # the broken row did not stop the others
    assert f"{table.outbox.noun} {ids[0]} failed unexpectedly" in caplog.text
    assert f"{table.outbox.noun} sweep stopped after" in caplog.text
    assert {r.name for r in caplog.records if "sweep" in r.getMessage() or "unexpectedly" in r.getMessage()} == {
        {"webhook": "links.webhooks", "email": "links.emails"}[table.outbox.noun.split()[0]]
    }  # the app's own logger, as before


@pytest.mark.django_db
def test_a_webhook_sweep_leaves_a_switched_off_endpoint_alone_unless_redelivery_was_asked(project, member):
    link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("5.00"))
    off = WebhookEndpoint.objects.create(project=project, url="http://127.0.0.1:1/", events=["link.created"], is_active=False)
    event = WebhookEvent.objects.create(project=project, link=link, type="link.created", payload={})
    now = timezone.now()
    automatic = WebhookDelivery.objects.create(event=event, endpoint=off, next_attempt_at=now)
    by_hand = WebhookDelivery.objects.create(event=event, endpoint=off, next_attempt_at=now, manual=True)
    assert webhooks.OUTBOX.due_ids(now=now) == [by_hand.pk]
    assert webhooks.deliver(automatic.pk, now=now) is None  # claimed by id, then given back untried
    automatic.refresh_from_db()
    assert (automatic.state, automatic.attempts) == (DeliveryState.PENDING, 0)
    assert automatic.next_attempt_at == now + webhooks.RETRY_SCHEDULE[-1]


# Both paths go through it: a crash mid-send, then the reclaim


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_webhook_and_an_email_cut_short_by_a_dying_worker_are_sent_once_its_lease_runs_out(
    kind,
    shop,  # noqa: F811
    member,
    endpoint,  # noqa: F811
    receiver,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    module = webhooks if kind == "webhook" else emails
    # A lease of its own: the sweep honouring exactly it shows the path goes through OUTBOX.
    outbox = dataclasses.replace(module.OUTBOX, lease=timedelta(seconds=97))
    monkeypatch.setattr(module, "OUTBOX", outbox)
    link = PaymentLink.objects.create(project=shop, member=member, amount=Decimal("25.00"))
    with django_capture_on_commit_callbacks(execute=False):  # the first try after commit is lost
        if kind == "webhook":
            webhooks.event_record(project=shop, event_type="link.created", payload_without_id={"n": 1}, link=link)
        else:
            emails.link_email_to_member(link=link)
    row = outbox.model.objects.get()
    sweep = webhooks.retry_due_webhooks if kind == "webhook" else emails.retry_due_emails

    def sent() -> int:
        return len(receiver.requests) if kind == "webhook" else len(mail.outbox)

    now = timezone.now()
    dead = outbox.claim(row.pk, now)  # claimed, then the worker died mid-send
    assert dead is not None and sent() == 0
    assert sweep(now=now + timedelta(seconds=96)) == 0 and sent() == 0  # its lease still holds
    assert sweep(now=now + timedelta(seconds=97)) == 1 and sent() == 1  # run out: sent
    assert (_state(outbox, row), row.attempts, row.next_attempt_at) == (outbox.succeeded, 1, None)
    assert sweep(now=now + timedelta(days=2)) == 0 and sent() == 1  # once
    assert outbox.record(dead, ok=False, at=now) is False  # the dead worker's outcome changes nothing
    assert (_state(outbox, row), row.attempts) == (outbox.succeeded, 1)
