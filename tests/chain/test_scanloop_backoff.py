"""What scanloop says and does after a failed scan: the operator reads when the next try
comes, and that is when it comes. A first retry used to be logged as "next try in -0 s"
(the wait was counted from the scan's start, and a failure that took longer than the poll
interval left a negative remainder) and was made at once. Real scanloop code, a node
address nobody listens on, SQLite or PostgreSQL."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import pytest

from chain import catalogue
from chain.models import Cursor
from chain.scanner import backoff_remaining
from payram.management.commands.scanloop import scan_once
from tests.support.anvil import free_port

pytestmark = [pytest.mark.anvil, pytest.mark.django_db]


def _next_try(caplog) -> list[int]:
    return [int(m) for m in re.findall(r"next try in (-?\d+) s", caplog.text)]


def _backoff_elapses() -> None:
    cursor = Cursor.objects.get(network="devnet")
    wait = backoff_remaining("devnet")
    Cursor.objects.filter(network="devnet").update(last_error_at=cursor.last_error_at - timedelta(seconds=wait + 0.1))


def test_the_logged_next_try_is_positive_and_doubles_as_the_backoff_does(devnet, devnet_rpc, caplog):
    devnet_rpc(f"http://127.0.0.1:{free_port()}")
    net = catalogue.get("devnet")
    interval = net.poll_interval
    caplog.set_level(logging.ERROR, logger="chain.scanloop")

    started = time.monotonic()
    delay, failed = scan_once(net)
    assert failed
    # The loop schedules started + delay: no sooner than an interval after the failure.
    assert started + delay >= time.monotonic() + interval - 0.05
    assert _next_try(caplog) == [round(interval)]

    scan_once(net)  # the second failure: the backoff starts at one interval
    assert _next_try(caplog) == [round(interval), round(interval)]

    delay, failed = scan_once(net)  # inside the backoff: the node is left alone
    assert not failed and 0 < delay <= interval
    assert Cursor.objects.get(network="devnet").consecutive_failures == 2

    _backoff_elapses()
    scan_once(net)  # the third failure: the wait doubles, and the log says so
    assert _next_try(caplog) == [round(interval), round(interval), round(2 * interval)]
    assert all(n > 0 for n in _next_try(caplog))
