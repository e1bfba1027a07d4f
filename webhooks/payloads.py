"""Webhook bodies built from an event dict (the contract's `Event.to_dict()` shape). Pure: no Django, no I/O.

Generic format: the event dict itself. Slack endpoints (the URL contains `slack.com` or `hooks.slack`) get a
message Slack accepts: the contract's Block Kit layout for `human.decision_needed`, and a short text message for
other topics (Slack refuses a body without `text`). The format is chosen by URL, never by topic alone, so a
generic receiver subscribed to `human.*` still gets the generic JSON.
"""

from __future__ import annotations

import json
from typing import Any

from webhooks import signing

DECISION_NEEDED = "human.decision_needed"
SLACK_MARKERS = ("slack.com", "hooks.slack")
MAX_SLACK_BUTTONS = 5
MAX_SLACK_SECTION = 3000  # Slack refuses a section text longer than this


def is_slack_url(url: str) -> bool:
    lowered = url.lower()
    return any(marker in lowered for marker in SLACK_MARKERS)


def body_for(url: str, event: dict[str, Any]) -> dict[str, Any]:
    """The JSON document sent for this event to this URL."""
    if not is_slack_url(url):
        return event
    if event["topic"] == DECISION_NEEDED:
        return slack_decision_blocks(event)
    return slack_event_text(event)


def encode(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, non-ASCII escaped."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_decision_blocks(event: dict[str, Any]) -> dict[str, Any]:
    """The contract's Block Kit payload for `human.decision_needed` (values from the event payload)."""
    payload = event.get("payload") or {}
    task_id = event["task_id"]
    request_id = str(payload.get("request_id") or "")
    decision_type = str(payload.get("decision_type") or "Decision Required")
    summary = str(payload.get("summary") or "") or "_No summary provided._"
    options = [str(option) for option in payload.get("options") or []]
    at = str(payload.get("created_at") or event["timestamp"])
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(f"Decision Required: {decision_type}", 150)},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(summary, MAX_SLACK_SECTION)}},
    ]
    if options:
        lines = "\n".join(f"- `{option}`" for option in options)
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _clip(f"*Available options:*\n{lines}", MAX_SLACK_SECTION),
                },
            }
        )
    blocks.append({"type": "divider"})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"*Task:* `{task_id}` | *Request:* `{request_id}` | *At:* {at}"}
            ],
        }
    )
    if options:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": _clip(option, 75)},
                        "value": f"{request_id}::{option}",
                        "action_id": f"decision_{index}",
                    }
                    for index, option in enumerate(options[:MAX_SLACK_BUTTONS])
                ],
            }
        )
    return {"text": f"Decision required for task `{task_id}`: {decision_type}", "blocks": blocks}


def slack_event_text(event: dict[str, Any]) -> dict[str, Any]:
    """Any other topic to a Slack endpoint: a short message (the original's format)."""
    lines = "\n".join(
        [
            f"*task_id:* {event['task_id']}",
            f"*event_id:* {event['event_id']}",
            f"*timestamp:* {event['timestamp']}",
        ]
    )
    return {
        "text": f"Agent Baton event: `{event['topic']}`",
        "attachments": [{"color": "#439FE0", "text": lines, "mrkdwn_in": ["text"]}],
    }


USER_AGENT = "AgentBaton-Webhook/1.0"


def request_headers(
    *, topic: str, event_id: str, delivery_id: str, timestamp: int, body: bytes, secret: str
) -> dict[str, str]:
    """The contract's headers plus the Standard Webhooks ones; signatures only when a secret is set."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Baton-Event": topic,
        "X-Baton-Event-Id": event_id,
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        headers["X-Baton-Signature"] = signing.baton_signature(secret, body)
        headers["webhook-signature"] = signing.standard_signature(secret, delivery_id, timestamp, body)
    return headers
