from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tessera.core.clock import now
from tessera.waitingroom.demo import replay_demo_on_sale


class Command(BaseCommand):
    help = (
        "Replay the demo's on-sale: a fresh waiting room for the Galaxy Tour's Beijing nights, "
        "pre-queue open, sale opening in five minutes (the rest of the demo is kept)."
    )

    def handle(self, *args, **options):
        room = replay_demo_on_sale(now=now())
        if room is None:
            raise CommandError("The demo is not loaded: run `manage.py load_demo` first.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Waiting room {room.pk} ({room.name_en}): pre-queue open, sale opens at "
                f"{timezone.localtime(room.opens_at):%H:%M:%S %Z}. Queue page: /queue/{room.pk}/"
            )
        )
