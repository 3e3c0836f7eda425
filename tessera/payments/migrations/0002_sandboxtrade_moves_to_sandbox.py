# The sandbox gateway's trades move to the sandbox app. The table stays where it is (the
# sandbox model keeps db_table "payments_sandboxtrade"); only Django's state changes here.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='SandboxTrade'),
            ],
            database_operations=[],
        ),
    ]
