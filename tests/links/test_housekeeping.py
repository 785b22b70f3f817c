"""Links nobody opens still turn Expired: beat schedules the job with a worker, and the
embedded default's scan loop runs it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from links import housekeeping
from links.models import LinkStatus, PaymentLink
from payram.celery import app


@pytest.fixture
def overdue_link(project, member):
    link = PaymentLink.objects.create(
        project=project, member=member, amount=Decimal("12.00"), expires_at=timezone.now() + timedelta(hours=1)
    )
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return link


@pytest.mark.django_db
def test_an_overdue_link_nobody_opened_turns_expired_in_the_periodic_pass(overdue_link):
    assert PaymentLink.objects.get(pk=overdue_link.pk).status == LinkStatus.PENDING
    housekeeping.run_all()
    assert PaymentLink.objects.get(pk=overdue_link.pk).status == LinkStatus.EXPIRED


def test_beat_runs_every_housekeeping_job_every_minute():
    app.loader.import_default_modules()
    for name, task in housekeeping.JOBS.items():
        entry = app.conf.beat_schedule[name]
        assert entry["task"] == task.name
        assert entry["schedule"] == housekeeping.EVERY_SECONDS
        assert entry["task"] in app.tasks


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others(monkeypatch, overdue_link, caplog):
    calls = []

    class Boom:
        name = "boom"

        def run(self):
            raise RuntimeError("boom")

    class Counter:
        name = "counter"

        def run(self):
            calls.append(1)

    monkeypatch.setattr(housekeeping, "JOBS", {"boom": Boom(), "counter": Counter()})
    housekeeping.run_all()
    assert calls == [1]
    assert "housekeeping job boom failed" in caplog.text
