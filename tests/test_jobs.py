"""One table of periodic jobs (payram/jobs.py) feeds Celery beat and the scan loop: links
nobody opens still turn Expired, whichever runtime runs the job."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from links.models import LinkStatus, PaymentLink
from payram import jobs
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
    jobs.run_housekeeping()
    assert PaymentLink.objects.get(pk=overdue_link.pk).status == LinkStatus.EXPIRED


def test_beat_runs_every_housekeeping_job_every_minute():
    app.loader.import_default_modules()
    for name, job in jobs.HOUSEKEEPING.items():
        entry = app.conf.beat_schedule[name]
        assert entry["task"] == job.task
        assert entry["schedule"] == jobs.EVERY_MINUTE
        assert entry["task"] in app.tasks
        # what scanloop calls in-process is the very task beat sends
        module, _, attribute = job.function.partition(":")
        assert getattr(__import__(module, fromlist=[attribute]), attribute).name == job.task


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others(monkeypatch, overdue_link, caplog):
    calls = []

    class Boom(jobs.Job):
        def run(self):
            raise RuntimeError("boom")

    class Counter(jobs.Job):
        def run(self):
            calls.append(1)

    boom, counter = Boom("boom", "t.boom", "m:boom", 60.0), Counter("counter", "t.counter", "m:counter", 60.0)
    monkeypatch.setattr(jobs, "HOUSEKEEPING", {"boom": boom, "counter": counter})
    jobs.run_housekeeping()
    assert calls == [1]
    assert "housekeeping job boom failed" in caplog.text
