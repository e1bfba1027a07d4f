from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "decisions"

    def ready(self) -> None:
        from decisions.services import on_events
        from executions import events

        # Decision rows are opened and closed in the same transaction as the events that announce them.
        events.subscribe(on_events)
