from django.db import migrations, models

# The scopes of tessera.partners.scopes at the time: keys issued before scopes existed keep
# every permission they had.
_ALL = ["catalog:read", "availability", "orders", "refunds", "webhooks"]


def _grant_all(apps, schema_editor):
    apps.get_model("sale", "ChannelKey").objects.all().update(scopes=_ALL)


class Migration(migrations.Migration):
    dependencies = [
        ("sale", "0001_channel_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="channelkey",
            name="scopes",
            field=models.JSONField(blank=True, default=list, verbose_name="scopes"),
        ),
        migrations.RunPython(_grant_all, migrations.RunPython.noop),
    ]
