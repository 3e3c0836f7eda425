from django.core.management.base import BaseCommand

from tessera.core.clock import now
from tessera.demo.loader import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo league, tour, venues and accounts "
        "(idempotent: a second run changes nothing)."
    )

    def handle(self, *args, **options):
        summary = load_demo(now=now(), stdout=self.stdout)
        counts = ", ".join(f"{k} {v:,}" for k, v in summary.counts.items())
        if summary.created:
            self.stdout.write(
                self.style.SUCCESS(f"Demo data loaded in {summary.seconds:.1f} s: {counts}")
            )
            self.stdout.write(
                f"Demo accounts (password '{DEMO_PASSWORD}'): admin, league, organizer, venue, "
                "distributor, fan"
            )
        else:
            self.stdout.write(f"Demo data already present ({counts}); nothing changed.")
