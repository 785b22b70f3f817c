"""One outbox mechanism: rows that stand for work to send (a webhook delivery, an email),
each tried when its time comes, retried on a schedule, and never sent by two workers at
the same time. Webhooks and emails describe their table with an `Outbox` and keep only
what is theirs: how to send one row and what to write beside the outcome.

A row is waiting while its state field holds `waiting` and its due field (a nullable
datetime, `next_attempt_at`) is at or before now. The due field is also the lease:

* `claim` is one conditional UPDATE, "WHERE pk = ? AND state = waiting AND due <= now
  SET due = now + lease". The database answers with the number of rows it changed, and
  only one claimer can change a row: on PostgreSQL a second UPDATE waits for the first
  to commit, then finds the row no longer due; SQLite runs one writer at a time. The same
  statement on both, no SELECT ... FOR UPDATE.
* A worker that dies mid-try leaves the row waiting with a due time in the future (its
  lease): the row becomes due again once the lease runs out and the sweep tries it
  again. Delivery is therefore at least once; receivers drop duplicates.
* `record` writes the outcome only while the lease is still this worker's (the due field
  still holds the lease it set), so a try that outlived its lease cannot overwrite the
  row a newer claim owns.
* The schedule is data: `schedule[n - 1]` is the wait after the n-th failed try, and after
  `len(schedule) + 1` tries the row is `failed` for good.
* `sweep` tries the due rows oldest first, at most `batch` of them, and starts no new try
  after `sweep_seconds`, so a receiver that times out on every try cannot hold one pass
  of housekeeping for long; the rest wait for the next pass.

Nothing here imports an app: the model and the names are the caller's (payram.lib is the
lowest layer)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone


@dataclass(frozen=True)
class Outbox:
    """How one table is an outbox. `noun` names a row in the sweep's log lines ("email"),
    written to `logger` (the caller's, so log names stay those of the app)."""

    model: type[models.Model]
    schedule: tuple[timedelta, ...]
    lease: timedelta
    logger: logging.Logger
    noun: str
    state_field: str = "state"
    waiting: str = "pending"
    succeeded: str = "succeeded"
    failed: str = "failed"
    due_field: str = "next_attempt_at"
    attempts_field: str = "attempts"
    # Which waiting rows the sweep takes (claim itself takes any due row by id).
    sweep_filter: models.Q | None = None
    batch: int = 200
    sweep_seconds: float = 30.0

    # The schedule

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def next_retry_delay(self, attempts_made: int) -> timedelta | None:
        """The wait after `attempts_made` failed tries, None once the schedule is spent."""
        if attempts_made < 1 or attempts_made > len(self.schedule):
            return None
        return self.schedule[attempts_made - 1]

    # One row

    def _waiting(self, pk) -> models.QuerySet:
        return self.model._default_manager.filter(pk=pk, **{self.state_field: self.waiting})

    def claim(self, pk, now: datetime) -> models.Model | None:
        """Reserve the row's due try for this worker until now + lease and return the row
        (its due field holds the lease); None if it is not due or another worker holds it."""
        lease_until = now + self.lease
        won = self._waiting(pk).filter(**{f"{self.due_field}__lte": now}).update(**{self.due_field: lease_until})
        if not won:
            return None
        return self._waiting(pk).filter(**{self.due_field: lease_until}).first()

    def record(self, row: models.Model, *, ok: bool, at: datetime, **fields) -> bool:
        """The outcome of the try `row` was claimed for (`row` as `claim` returned it):
        one more attempt, and on success the succeeded state, on failure the next try at
        `at` + the schedule's wait or the failed state once it is spent; `fields` are
        written beside. Only while the lease holds: returns False, writing nothing, when
        it ran out and the row may belong to another claim. `row` is updated either way."""
        attempts = getattr(row, self.attempts_field) + 1
        delay = None if ok else self.next_retry_delay(attempts)
        values = {
            self.attempts_field: attempts,
            self.state_field: self.succeeded if ok else (self.waiting if delay else self.failed),
            self.due_field: at + delay if delay else None,
            **fields,
        }
        recorded = self._update_while_leased(row, values)
        for name, value in values.items():
            setattr(row, name, value)
        return recorded

    def postpone(self, row: models.Model, until: datetime) -> bool:
        """Give the claimed row back untried, due again at `until` (no attempt counted)."""
        recorded = self._update_while_leased(row, {self.due_field: until})
        setattr(row, self.due_field, until)
        return recorded

    def _update_while_leased(self, row: models.Model, values: dict) -> bool:
        # A queryset update skips auto_now; the row's "updated at" still moves.
        for field in self.model._meta.concrete_fields:
            if getattr(field, "auto_now", False):
                values.setdefault(field.attname, timezone.now())
        lease_until = getattr(row, self.due_field)
        return bool(self._waiting(row.pk).filter(**{self.due_field: lease_until}).update(**values))

    # The sweep

    def due_ids(self, *, now: datetime | None = None, limit: int | None = None) -> list:
        """The ids of waiting rows due at `now`, oldest due first, at most `limit` (batch)."""
        now = now or timezone.now()
        due = self.model._default_manager.filter(**{self.state_field: self.waiting, f"{self.due_field}__lte": now})
        if self.sweep_filter is not None:
            due = due.filter(self.sweep_filter)
        due = due.order_by(self.due_field, "pk").values_list("pk", flat=True)
        return list(due[: self.batch if limit is None else limit])

    def sweep(self, attempt: Callable[[object], bool], *, now: datetime | None = None) -> int:
        """Call `attempt(pk)` for each due row (`due_ids`) until `sweep_seconds` have gone;
        returns how many calls returned true. `attempt` claims the row itself, so rows
        another worker took meanwhile are skipped there. One row's exception is logged and
        the sweep goes on."""
        counted = 0
        started = time.monotonic()
        due = self.due_ids(now=now)
        for done, pk in enumerate(due):
            if time.monotonic() - started > self.sweep_seconds:
                self.logger.info(
                    "%s sweep stopped after %.0f s: %s due rows wait for the next pass",
                    self.noun,
                    self.sweep_seconds,
                    len(due) - done,
                )
                break
            try:
                counted += bool(attempt(pk))
            except Exception:  # one broken row must not stop the others
                self.logger.exception("%s %s failed unexpectedly", self.noun, pk)
        return counted
