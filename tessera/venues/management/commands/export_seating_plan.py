"""Export a layout as a seating plan JSON file.

python manage.py export_seating_plan 3 --format pretix -o plan.json
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tessera.venues.models import Layout
from tessera.venues.seating_plans import FORMATS
from tessera.venues.services import export_plan


class Command(BaseCommand):
    help = "Export a layout as a seating plan (Tessera or pretix JSON format)."

    def add_arguments(self, parser):
        parser.add_argument("layout_id", type=int, help="Layout id.")
        parser.add_argument("--format", choices=FORMATS, default="tessera")
        parser.add_argument("-o", "--output", help="Output file (default: standard output).")

    def handle(self, *args, **options):
        layout = Layout.objects.filter(pk=options["layout_id"]).first()
        if layout is None:
            raise CommandError(f"No layout with id {options['layout_id']}.")
        text = json.dumps(
            export_plan(layout=layout, format=options["format"]),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']} ({len(text)} characters).")
        else:
            self.stdout.write(text)
