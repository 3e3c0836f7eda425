"""PostgreSQL: vacuum the places table early and often.

A sale turns places from available to held to sold, each an UPDATE that leaves a dead row
version and dead entries in the table's indexes until vacuum clears them. The default
thresholds (20 % of the table) would let a 60,000-place session go halfway through its sale
before the first vacuum, and the search for free places would step over the dead entries.
These thresholds vacuum after about 2 % of the rows changed (and at least 500).
"""

from django.db import migrations

FAST = (
    "ALTER TABLE inventory_inventoryunit SET ("
    "autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 500, "
    "autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 0)"
)
DEFAULT = (
    "ALTER TABLE inventory_inventoryunit RESET ("
    "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
    "autovacuum_analyze_scale_factor, autovacuum_vacuum_cost_delay)"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FAST)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_channel_account")]

    operations = [migrations.RunPython(forwards, backwards)]
