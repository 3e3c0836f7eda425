"""Hand the periodic tidy-up tasks (``settings.PERIODIC_TASKS``) to the workers once.

For deployments where ``manage.py serve`` runs no task workers (web machines with
``--task-workers 0``, workers on their own machines): a systemd timer runs this every minute
on one or more machines (docs/operations.md). Exits 1 when a task could not be enqueued.
"""

from django.core.management.base import BaseCommand, CommandError

from tessera.core.workers import enqueue_periodic_tasks


class Command(BaseCommand):
    help = "Enqueue the periodic tasks (settings.PERIODIC_TASKS) once."

    def handle(self, *args, verbosity, **options):
        outcome = enqueue_periodic_tasks()
        for path, result in outcome.items():
            if verbosity > 1:
                self.stdout.write(f"{path}: {result}")
        failed = [path for path, result in outcome.items() if result.startswith("not enqueued")]
        if failed:
            raise CommandError(f"not enqueued: {', '.join(failed)}")
        if verbosity:
            self.stdout.write(f"{len(outcome)} periodic tasks enqueued")
