"""``manage.py import_bill --provider alipay|wechat|sandbox --date YYYY-MM-DD FILE``: import a
provider's daily statement file and reconcile the day."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError
from tessera.reconciliation import services
from tessera.reconciliation.parsers import MAX_BYTES


class Command(BaseCommand):
    help = "Import a provider's daily statement file (Alipay or WeChat Pay) and reconcile the day."

    def add_arguments(self, parser):
        parser.add_argument("--provider", required=True, choices=list(services.PROVIDERS))
        parser.add_argument("--date", required=True, help="the statement's day, YYYY-MM-DD")
        parser.add_argument("file", help="the CSV file")

    def handle(self, *args, provider, date: str, file: str, **options):
        try:
            day_on = _parse_date(date)
        except ValueError as exc:
            raise CommandError(f"--date: {date!r} is not a date (YYYY-MM-DD)") from exc
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"{file}: larger than 20 MB")
        now = clock_now()
        try:
            statement, created = services.import_statement(
                provider=provider,
                day_on=day_on,
                data=path.read_bytes(),
                file_name=path.name,
                now=now,
            )
            day = services.reconcile_day(provider=provider, day_on=day_on, now=now)
        except DomainError as exc:
            raise CommandError(f"{file}: {exc.message}") from exc
        verb = "imported" if created else "already imported"
        self.stdout.write(
            f"{provider} {day_on}: {verb}, {statement.row_count} lines; "
            f"{day.status}, {day.open_count} open mismatches"
        )


def _parse_date(text: str) -> date:
    if len(text) != 10:
        raise ValueError(text)
    return date.fromisoformat(text)
