# The sandbox gateway's trades, moved here from the payments app. The table was created by
# payments' first migration and keeps its name, so this creates the model in Django's state
# only, and hands the content type (and with it permissions and admin log entries) over.

from django.db import migrations, models


def move_content_type(apps, schema_editor, *, old, new):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label=new, model='sandboxtrade').exists():
        ContentType.objects.using(db).filter(app_label=old, model='sandboxtrade').update(
            app_label=new
        )


def forwards(apps, schema_editor):
    move_content_type(apps, schema_editor, old='payments', new='sandbox')


def backwards(apps, schema_editor):
    move_content_type(apps, schema_editor, old='sandbox', new='payments')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('payments', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SandboxTrade',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reference', models.CharField(max_length=40, unique=True, verbose_name='gateway reference')),
                        ('payment_id', models.UUIDField(unique=True, verbose_name='merchant payment')),
                        ('merchant_name', models.CharField(max_length=120, verbose_name='merchant')),
                        ('order_number', models.CharField(max_length=40, verbose_name='order number')),
                        ('subject', models.CharField(max_length=200, verbose_name='subject')),
                        ('amount_minor', models.BigIntegerField(verbose_name='amount in minor units')),
                        ('currency', models.CharField(max_length=3, verbose_name='currency')),
                        ('notify_url', models.CharField(max_length=500, verbose_name='notify URL')),
                        ('return_url', models.CharField(blank=True, max_length=500, verbose_name='return URL')),
                        ('switches', models.JSONField(blank=True, default=dict, verbose_name='switches')),
                        ('status', models.CharField(choices=[('waiting', 'Waiting for the buyer'), ('paid', 'Paid'), ('failed', 'Failed')], default='waiting', max_length=10, verbose_name='status')),
                        ('sequence', models.PositiveIntegerField(default=1, verbose_name='last event sequence')),
                        ('created_at', models.DateTimeField(verbose_name='created at')),
                        ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                        ('refunds', models.JSONField(blank=True, default=dict, verbose_name='refunds')),
                    ],
                    options={
                        'verbose_name': 'sandbox trade',
                        'verbose_name_plural': 'sandbox trades',
                        'db_table': 'payments_sandboxtrade',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
