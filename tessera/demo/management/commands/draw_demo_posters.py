from django.core.management.base import BaseCommand

from tessera.catalog.models import Event
from tessera.demo.posters import POSTER_DIR, write_posters


class Command(BaseCommand):
    help = (
        "Draw the demo events' posters into tessera/demo/posters/ (one SVG per event of a "
        "loaded demo); commit the files, the demo loader attaches them."
    )

    def handle(self, *args, **options):
        events = Event.objects.select_related("home_team", "away_team").prefetch_related("tags")
        written = write_posters(events.order_by("slug"))
        self.stdout.write(f"{len(written)} posters drawn into {POSTER_DIR}")
