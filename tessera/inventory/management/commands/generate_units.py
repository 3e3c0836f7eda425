"""Create the inventory units of a session from its layout and price zones.

python manage.py generate_units 42
"""

import time

from django.core.management.base import BaseCommand, CommandError

from tessera.catalog.models import Session
from tessera.core.clock import now as clock_now
from tessera.inventory.models import InventoryUnit
from tessera.inventory.services import generate_units


class Command(BaseCommand):
    help = "Create one inventory unit per zoned seat and standing place of a session."

    def add_arguments(self, parser):
        parser.add_argument("session_id", type=int, help="Session id.")

    def handle(self, *args, **options):
        session = Session.objects.select_related("event").filter(pk=options["session_id"]).first()
        if session is None:
            raise CommandError(f"No session with id {options['session_id']}.")
        started = time.perf_counter()
        created = generate_units(session=session, now=clock_now())
        seconds = time.perf_counter() - started
        if created == 0:
            existing = InventoryUnit.objects.filter(session=session).count()
            self.stdout.write(
                f"Session {session.pk} already has {existing} units; nothing created."
            )
            return
        self.stdout.write(f"Session {session.pk}: {created} units created in {seconds:.2f} s.")
