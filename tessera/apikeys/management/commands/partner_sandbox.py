"""``manage.py partner_sandbox --organization <slug>``: the distributor's sandbox world and
channel, created when missing (the console's "Create my sandbox" does the same)."""

from django.core.management.base import BaseCommand, CommandError

from tessera.accounts.models import Organization
from tessera.apikeys import selectors, services
from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a distributor's sandbox world (venue, event, sessions, places) and channel."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="The distributor's slug.")

    def handle(self, *args, organization: str, **options):
        partner = Organization.objects.filter(slug=organization[:60]).first()
        if partner is None:
            raise CommandError(f"No organization with the slug {organization!r}.")
        existed = selectors.sandbox_world(partner) is not None
        try:
            world = services.create_sandbox(partner=partner, actor=None, now=clock_now())
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        sessions = list(selectors.sandbox_sessions(world))
        self.stdout.write(
            f"{'Sandbox already there' if existed else 'Sandbox created'} for {partner.slug}: "
            f"channel {world.channel.code}, organization {world.organization.slug}, "
            f"sessions {', '.join(str(s.pk) for s in sessions)}"
        )
