from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # The outbox: every published event is matched against enabled webhooks inside the publishing
        # transaction (see webhooks.services.delivery_create_for_events).
        from executions import events
        from webhooks.services import delivery_create_for_events

        events.subscribe(delivery_create_for_events)
