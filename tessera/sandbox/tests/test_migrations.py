"""The trades moved from the payments app to the sandbox app without moving data: Django's state
says so, the models need no new migration, and a database migrated before the move keeps its
trades (and their content type) after it."""

from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from tessera.sandbox.models import SandboxTrade

# Migration targets: the payments app before the move, the sandbox app not yet there.
BEFORE = [("payments", "0001_initial"), ("sandbox", None)]
BEFORE_NODES = [("payments", "0001_initial"), ("contenttypes", "0002_remove_content_type_name")]
AFTER = [("payments", "0002_sandboxtrade_moves_to_sandbox"), ("sandbox", "0001_initial")]


def _columns(model_state) -> list[tuple[str, str]]:
    return [(name, field.deconstruct()[1]) for name, field in model_state.fields.items()]


def test_the_models_need_no_new_migration(db):
    out = StringIO()

    call_command("makemigrations", "--check", "--dry-run", stdout=out)

    assert out.getvalue().strip() == "No changes detected"


def test_the_model_moves_in_state_only_and_keeps_its_table(db):
    loader = MigrationLoader(connection)
    before = loader.project_state(BEFORE_NODES).models
    after = loader.project_state(AFTER).models

    assert ("payments", "sandboxtrade") in before and ("sandbox", "sandboxtrade") not in before
    assert ("payments", "sandboxtrade") not in after
    moved = after["sandbox", "sandboxtrade"]
    assert moved.options["db_table"] == "payments_sandboxtrade"
    assert _columns(moved) == _columns(before["payments", "sandboxtrade"])
    for app, name in AFTER:
        operation = loader.get_migration(app, name).operations[0]
        assert type(operation).__name__ == "SeparateDatabaseAndState"
        assert operation.database_operations == []


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_its_trades():
    executor = MigrationExecutor(connection)
    try:
        _migrate_a_trade_across_the_move(executor)
    finally:  # leave the test database as every other test expects it
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        ContentType.objects.clear_cache()


def _migrate_a_trade_across_the_move(executor: MigrationExecutor) -> None:
    # given a database at the state before the move, with a trade and the content type the
    # payments app had for it
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE_NODES).apps
    OldTrade = old_apps.get_model("payments", "SandboxTrade")
    OldContentType = old_apps.get_model("contenttypes", "ContentType")
    OldContentType.objects.filter(model="sandboxtrade").delete()
    content_type = OldContentType.objects.create(app_label="payments", model="sandboxtrade")
    OldTrade.objects.create(
        reference="SBX20261122BEFORE00000001",
        payment_id="7f1c2a56-4b1e-4f0e-9a51-3c2d4e5f6a7b",
        merchant_name="星光文化",
        order_number="T261122-K7M3QX",
        subject="周杰伦",
        amount_minor=76000,
        currency="CNY",
        notify_url="http://127.0.0.1:8000/api/v1/payments/callbacks/sandbox",
        status="paid",
        sequence=2,
        created_at="2026-11-22T12:00:00+00:00",
        refunds={"r1": 100},
    )

    # when it is migrated to now
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    # then the sandbox app reads the very same row, and the content type moved with it
    trade = SandboxTrade.objects.get()
    assert (trade.reference, trade.status, trade.amount_minor, trade.refunds) == (
        "SBX20261122BEFORE00000001",
        "paid",
        76000,
        {"r1": 100},
    )
    moved = ContentType.objects.get_for_model(SandboxTrade)
    assert (moved.pk, moved.app_label) == (content_type.pk, "sandbox")
    assert not ContentType.objects.filter(app_label="payments", model="sandboxtrade").exists()
