"""Migrations, on the running database (SQLite or PostgreSQL): an empty database reaches the
head, chain's schema never waits for links' (issue 11), and a database made before links
took over which address belongs to which link keeps that association on the way up."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps as current_apps
from django.db import connection, migrations, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

OURS = ("members", "chain", "links", "notifications")
ABOVE_CHAIN = ("links", "notifications", "api")
BEFORE_LINK_ADDRESSES = [("chain", "0007_push_state"), ("links", "0009_link_created_by_api_key")]


def _columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _head() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def back_to_head():
    yield
    _migrate(_head())


def test_chain_migrations_never_wait_for_links():
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    for node in graph.leaf_nodes("chain"):
        needs = {app for app, _name in graph.forwards_plan(node)}
        assert not needs & set(ABOVE_CHAIN), f"{node} needs migrations of {sorted(needs & set(ABOVE_CHAIN))}"


def test_chain_models_point_at_nothing_above_chain():
    for model in current_apps.get_app_config("chain").get_models():
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete:
                assert field.related_model._meta.app_label not in ABOVE_CHAIN, f"{model.__name__}.{field.name}"


@pytest.mark.django_db(transaction=True)
def test_an_empty_database_migrates_from_zero_to_head(back_to_head):
    _migrate([(app, None) for app in OURS])
    tables = set(connection.introspection.table_names())
    assert not {t for t in tables if t.startswith(("chain_", "links_", "members_"))}
    _migrate(_head())
    assert "link_id" not in _columns("chain_depositaddress")
    assert {"link_id", "address_id"} <= _columns("links_linkaddress")


@pytest.mark.django_db(transaction=True)
def test_an_old_database_keeps_which_address_belongs_to_which_link(back_to_head):
    executor = _migrate(BEFORE_LINK_ADDRESSES)
    # The database as it was before issue 11: chain.0002_initial then added this column.
    before = executor.loader.project_state(BEFORE_LINK_ADDRESSES)
    old_column = migrations.AddField(
        model_name="depositaddress",
        name="link",
        field=models.ForeignKey(
            blank=True, null=True, on_delete=models.PROTECT, related_name="deposit_addresses", to="links.paymentlink"
        ),
    )
    old = before.clone()
    old_column.state_forwards("chain", old)
    with connection.schema_editor() as editor:
        old_column.database_forwards("chain", editor, before, old)
    assert "link_id" in _columns("chain_depositaddress")

    historical = old.apps
    project = historical.get_model("members", "Project").objects.create(name="Corner Shop")
    member = historical.get_model("members", "Member").objects.create(project=project, email="customer@example.com")
    links = historical.get_model("links", "PaymentLink").objects
    tea, cake = (links.create(project=project, member=member, amount=Decimal("5.00")) for _ in range(2))
    wallet = historical.get_model("chain", "Wallet").objects.create(
        project=project, family="evm", xpub="old-xpub", script_type="evm"
    )
    addresses = historical.get_model("chain", "DepositAddress").objects

    def address(index, link, purpose="payment link"):
        return addresses.create(
            project=project, wallet=wallet, family="evm", index=index, address=f"0x{index:040x}", link=link, purpose=purpose
        ).pk

    tea_evm, cake_evm, refund_watch = address(0, tea), address(1, cake), address(2, None, "refund")
    historical.get_model("chain", "Deposit").objects.create(
        network="devnet", asset="ETH", tx_hash="0xabc", index=0, address_id=tea_evm, value=10**18
    )

    _migrate(_head())

    from chain.models import Deposit, DepositAddress
    from links.models import LinkAddress, PaymentLink

    assert "link_id" not in _columns("chain_depositaddress")
    assert dict(LinkAddress.objects.values_list("address_id", "link_id")) == {tea_evm: tea.pk, cake_evm: cake.pk}
    assert not DepositAddress.objects.get(pk=refund_watch).payment_links.exists()
    assert list(PaymentLink.objects.get(pk=tea.pk).deposit_addresses.values_list("pk", flat=True)) == [tea_evm]
    assert Deposit.objects.filter(address__link=tea.pk).count() == 1  # what the link's status reads
