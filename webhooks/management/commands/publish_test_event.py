"""`baton manage publish_test_event TOPIC [TOPIC ...]`: publish events through the event bus, as the engine
would, to exercise webhook subscriptions (each matching webhook gets a delivery). Prints one event id a line."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from executions import events


class Command(BaseCommand):
    help = "Publish events (TOPIC ...) on the event bus, e.g. to test webhook subscriptions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("topics", nargs="+", help="event topics, published in order")
        parser.add_argument(
            "--task-id", default="system", help="the task the events belong to (default system)"
        )
        parser.add_argument("--payload", default="{}", help="JSON object used as every event's payload")
        parser.add_argument("--repeat", type=int, default=1, help="publish the topic list this many times")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            payload = json.loads(options["payload"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--payload is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise CommandError("--payload must be a JSON object")
        for _ in range(max(1, options["repeat"])):
            published = events.publish_many(
                options["task_id"], [(topic, payload) for topic in options["topics"]]
            )
            for event in published:
                self.stdout.write(event.event_id)
