from __future__ import annotations

from django.core.management.base import BaseCommand

from agents.services import registry_reload


class Command(BaseCommand):
    help = "Load the shipped agent roster and the configured BATON_AGENT_DIRS into the registry (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        report = registry_reload()
        for error in report.errors:
            self.stderr.write(f"skipped {error}")
        self.stdout.write(
            f"agents: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, {len(report.errors)} skipped"
        )
