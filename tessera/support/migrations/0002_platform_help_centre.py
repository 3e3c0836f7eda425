"""The platform-wide help centre as first published (tessera/support/faq_seed.py)."""

from django.db import migrations


def publish(apps, schema_editor):
    from tessera.support.faq_seed import publish as publish_entries

    publish_entries(apps.get_model("support", "FaqEntry"))


def withdraw(apps, schema_editor):
    from tessera.support.faq_seed import ENTRIES

    FaqEntry = apps.get_model("support", "FaqEntry")
    FaqEntry.objects.filter(
        organization__isnull=True, slug__in=[entry["slug"] for entry in ENTRIES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]

    operations = [migrations.RunPython(publish, withdraw)]
