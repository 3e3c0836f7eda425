"""Import a seating plan (Tessera or pretix JSON) as a new layout of a venue.

python manage.py import_seating_plan bird-nest plan.json --name 演唱会
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tessera.venues.models import Row, Seat, Section, Venue
from tessera.venues.seating_plans import SeatingPlanInvalid
from tessera.venues.services import import_plan


class Command(BaseCommand):
    help = "Import a seating plan JSON file (Tessera or pretix format) as a new layout."

    def add_arguments(self, parser):
        parser.add_argument("venue", help="Venue slug.")
        parser.add_argument("file", help="Path of the JSON file.")
        parser.add_argument("--name", default="", help="Layout name (Chinese).")
        parser.add_argument("--name-en", default="", help="Layout name (English).")

    def handle(self, *args, **options):
        venue = Venue.objects.filter(slug=options["venue"]).first()
        if venue is None:
            raise CommandError(f"No venue with slug {options['venue']!r}.")
        try:
            raw = Path(options["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}") from exc
        try:
            layout = import_plan(
                venue=venue, data=raw, name=options["name"], name_en=options["name_en"]
            )
        except SeatingPlanInvalid as exc:
            lines = [str(exc.message)] + [
                f"  {e['path']}: {e['message']}" for e in exc.details["errors"]
            ]
            raise CommandError("\n".join(lines)) from exc
        sections = Section.objects.filter(layout=layout).count()
        rows = Row.objects.filter(section__layout=layout).count()
        seats = Seat.objects.filter(section__layout=layout).count()
        self.stdout.write(
            f"Layout {layout.pk} ({layout.name}) of {venue.slug}: "
            f"{sections} sections, {rows} rows, {seats} seats."
        )
