"""Generate a stadium, arena or theatre layout for a venue.

    python manage.py generate_layout --venue bird-nest --preset stadium_60k
    python manage.py generate_layout --venue hall --kind theatre --tiers 2 \
        --sections-per-tier 3 --rows 20 --seats-per-row 18
"""

import time

from django.core.management.base import BaseCommand, CommandError

from tessera.core.errors import DomainError
from tessera.venues.generator import KINDS, LayoutSpec, generate_layout
from tessera.venues.models import Row, Seat, Section, SectionKind, Venue


class Command(BaseCommand):
    help = "Generate a layout (sections, rows, seats, standing terraces) for a venue."

    def add_arguments(self, parser):
        parser.add_argument("--venue", required=True, help="Venue slug.")
        parser.add_argument(
            "--preset",
            choices=LayoutSpec.PRESETS,
            help="A ready-made spec; the size options below are ignored.",
        )
        parser.add_argument("--kind", choices=KINDS, default="stadium")
        parser.add_argument("--tiers", type=int, default=2)
        parser.add_argument("--sections-per-tier", type=int, default=40)
        parser.add_argument("--rows", type=int, default=25, help="Rows per section.")
        parser.add_argument(
            "--seats-per-row", type=int, default=30, help="Seats in the first row of a section."
        )
        parser.add_argument(
            "--seats-growth",
            type=float,
            default=0.0,
            help="Extra seats per row further back (0.5: one more every 2 rows).",
        )
        parser.add_argument("--terraces", type=int, default=0)
        parser.add_argument("--terrace-capacity", type=int, default=0)
        parser.add_argument("--width", type=int, default=0, help="Plan width (0: default).")
        parser.add_argument("--height", type=int, default=0, help="Plan height (0: default).")
        parser.add_argument("--name", default="", help="Layout name (Chinese).")
        parser.add_argument("--name-en", default="", help="Layout name (English).")

    def handle(self, *args, **options):
        venue = Venue.objects.filter(slug=options["venue"]).first()
        if venue is None:
            raise CommandError(f"No venue with slug {options['venue']!r}.")
        if options["preset"]:
            spec = LayoutSpec.preset(options["preset"])
        else:
            spec = LayoutSpec(
                kind=options["kind"],
                tiers=options["tiers"],
                sections_per_tier=options["sections_per_tier"],
                rows=options["rows"],
                seats_per_row=options["seats_per_row"],
                seats_growth=options["seats_growth"],
                terraces=options["terraces"],
                terrace_capacity=options["terrace_capacity"],
                width=options["width"],
                height=options["height"],
            )
        started = time.perf_counter()
        try:
            layout = generate_layout(
                venue=venue, spec=spec, name=options["name"], name_en=options["name_en"]
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message}: {exc.details}") from exc
        seconds = time.perf_counter() - started
        sections = Section.objects.filter(layout=layout)
        seated = sections.filter(kind=SectionKind.SEATED).count()
        standing = list(
            sections.filter(kind=SectionKind.STANDING).values_list("capacity", flat=True)
        )
        rows = Row.objects.filter(section__layout=layout).count()
        seats = Seat.objects.filter(section__layout=layout).count()
        self.stdout.write(
            f"Layout {layout.pk} ({layout.name} / {layout.name_en}) of {venue.slug}: "
            f"{seated} seated sections, {len(standing)} standing sections, {rows} rows, "
            f"{seats} seats, {sum(standing)} standing places, {seats + sum(standing)} places "
            f"in {seconds:.1f} s."
        )
