"""The pure parts of webhooks: topic matching, signatures, payload formats, the retry policy, and the rule that
they import no framework."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from webhooks import matching, payloads, policy, signing
from webhooks.policy import Decision, FailureKind, Verdict

EVENT = {
    "event_id": "a1b2c3d4e5f6",
    "timestamp": "2026-03-24T10:01:00+00:00",
    "topic": "step.completed",
    "task_id": "task-abc123",
    "sequence": 2,
    "payload": {"step_id": "0.0", "agent": "backend-engineer--python", "status": "complete"},
}


# --- matching --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "topic", "expected"),
    [
        (["step.completed"], "step.completed", True),
        (["step.completed"], "step.failed", False),
        (["step.*"], "step.completed", True),
        (["step.*"], "step.dispatched", True),
        (["step.*"], "gate.required", False),
        (["step.*"], "step", False),
        (["step.*"], "step.a.b", True),  # fnmatch's * spans dots
        (["gate.*"], "gate.passed", True),
        (["human.*"], "human.decision_needed", True),
        (["task.*"], "task.started", True),
        (["*"], "anything.at.all", True),
        (["*"], "ping", True),
        (["step.?ailed"], "step.failed", True),
        (["step.[cf]*"], "step.completed", True),
        (["step.[cf]*"], "step.dispatched", False),
        (["Step.*"], "step.completed", False),  # case-sensitive everywhere
        (["gate.required", "step.*"], "step.failed", True),
        ([], "step.failed", False),
    ],
)
def test_topic_matching_is_fnmatch_case_sensitive(patterns, topic, expected):
    assert matching.topic_matches(patterns, topic) is expected


# --- signing ---------------------------------------------------------------------------------------------------


def test_baton_signature_is_hex_hmac_sha256_of_the_exact_body():
    body = b'{"a":1}'
    expected = hmac.new(b"my-secret", body, hashlib.sha256).hexdigest()
    assert signing.baton_signature("my-secret", body) == expected
    assert signing.verify_baton_signature("my-secret", body, expected)
    assert not signing.verify_baton_signature("my-secret", body + b" ", expected)
    assert not signing.verify_baton_signature("other", body, expected)


def test_standard_signature_signs_id_timestamp_and_body():
    body = b'{"a":1}'
    digest = hmac.new(b"my-secret", b"dlv_1.1700000000." + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    assert signing.standard_signature("my-secret", "dlv_1", 1700000000, body) == expected
    assert signing.verify_standard_signature("my-secret", "dlv_1", 1700000000, body, f"v1,bogus {expected}")
    assert not signing.verify_standard_signature("my-secret", "dlv_1", 1700000001, body, expected)


def test_standard_signature_uses_the_decoded_key_of_a_whsec_secret():
    key = b"\x01\x02raw-key-bytes"
    secret = "whsec_" + base64.b64encode(key).decode()
    digest = hmac.new(key, b"msg.5.body", hashlib.sha256).digest()
    assert signing.standard_signature(secret, "msg", 5, b"body") == "v1," + base64.b64encode(digest).decode()
    # The contract's header still uses the secret string as given.
    assert (
        signing.baton_signature(secret, b"body")
        == hmac.new(secret.encode(), b"body", hashlib.sha256).hexdigest()
    )
    # A whsec_ prefix followed by something that is not base64 is just a string key.
    assert signing.standard_key("whsec_not base64!") == b"whsec_not base64!"


# --- payloads --------------------------------------------------------------------------------------------------


def test_generic_body_is_the_event_dict_as_compact_ascii_json():
    event = {**EVENT, "payload": {"note": "café ✓"}}
    body = payloads.body_for("https://example.com/hook", event)
    assert body == event
    encoded = payloads.encode(body)
    assert b", " not in encoded
    assert b": " not in encoded
    assert b"\\u00e9" in encoded
    assert b"\\u2713" in encoded
    assert json.loads(encoded) == event


DECISION = {
    "event_id": "f00dfeedbeef",
    "timestamp": "2026-03-24T10:30:00+00:00",
    "topic": "human.decision_needed",
    "task_id": "task-abc123",
    "sequence": 7,
    "payload": {
        "request_id": "dec-001",
        "decision_type": "gate_approval",
        "summary": "Test gate failed. Approve to continue?",
        "options": ["approve", "reject"],
        "context_files": [],
    },
}


def test_slack_decision_payload_is_exactly_the_contract_example():
    body = payloads.body_for("https://hooks.slack.com/services/T00/B00/xxxx", DECISION)
    assert body == {
        "text": "Decision required for task `task-abc123`: gate_approval",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Decision Required: gate_approval"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "Test gate failed. Approve to continue?"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Available options:*\n- `approve`\n- `reject`"},
            },
            {"type": "divider"},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "*Task:* `task-abc123` | *Request:* `dec-001` | *At:* 2026-03-24T10:30:00+00:00",
                    }
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "approve"},
                        "value": "dec-001::approve",
                        "action_id": "decision_0",
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "reject"},
                        "value": "dec-001::reject",
                        "action_id": "decision_1",
                    },
                ],
            },
        ],
    }


def test_slack_decision_payload_defaults_and_limits():
    event = {
        **DECISION,
        "payload": {"created_at": "2026-03-24T11:00:00+00:00", "options": [str(i) for i in range(7)]},
    }
    body = payloads.slack_decision_blocks(event)
    assert body["text"] == "Decision required for task `task-abc123`: Decision Required"
    assert body["blocks"][1]["text"]["text"] == "_No summary provided._"
    assert body["blocks"][4]["elements"][0]["text"].endswith(
        "*Request:* `` | *At:* 2026-03-24T11:00:00+00:00"
    )
    assert len(body["blocks"][2]["text"]["text"].splitlines()) == 8  # heading + all seven options
    assert [b["action_id"] for b in body["blocks"][5]["elements"]] == [f"decision_{i}" for i in range(5)]

    no_options = payloads.slack_decision_blocks({**DECISION, "payload": {"summary": "s"}})
    assert [block["type"] for block in no_options["blocks"]] == ["header", "section", "divider", "context"]


@pytest.mark.parametrize(
    ("url", "slack"),
    [
        ("https://hooks.slack.com/services/T/B/x", True),
        ("https://example.slack.com/api", True),
        ("HTTPS://HOOKS.SLACK.COM/x", True),
        ("http://127.0.0.1:9000/hooks.slack/x", True),
        ("https://example.com/hook", False),
        ("https://slack.example.com/x", False),
    ],
)
def test_slack_format_is_chosen_by_url(url, slack):
    assert payloads.is_slack_url(url) is slack
    generic = payloads.body_for(url, DECISION) == DECISION
    assert generic is not slack


def test_other_topics_to_slack_get_a_text_message():
    body = payloads.body_for("https://hooks.slack.com/services/x", EVENT)
    assert body == {
        "text": "Agent Baton event: `step.completed`",
        "attachments": [
            {
                "color": "#439FE0",
                "text": "*task_id:* task-abc123\n*event_id:* a1b2c3d4e5f6\n*timestamp:* 2026-03-24T10:01:00+00:00",
                "mrkdwn_in": ["text"],
            }
        ],
    }


def test_request_headers_with_and_without_secret():
    body = payloads.encode(EVENT)
    signed = payloads.request_headers(
        topic="step.completed",
        event_id="a1b2c3d4e5f6",
        delivery_id="dlv_x",
        timestamp=1700000000,
        body=body,
        secret="s",
    )
    assert signed == {
        "Content-Type": "application/json",
        "User-Agent": "AgentBaton-Webhook/1.0",
        "X-Baton-Event": "step.completed",
        "X-Baton-Event-Id": "a1b2c3d4e5f6",
        "webhook-id": "dlv_x",
        "webhook-timestamp": "1700000000",
        "X-Baton-Signature": signing.baton_signature("s", body),
        "webhook-signature": signing.standard_signature("s", "dlv_x", 1700000000, body),
    }
    unsigned = payloads.request_headers(
        topic="step.completed",
        event_id="a1b2c3d4e5f6",
        delivery_id="dlv_x",
        timestamp=1700000000,
        body=body,
        secret="",
    )
    assert "X-Baton-Signature" not in unsigned
    assert "webhook-signature" not in unsigned
    assert unsigned["webhook-id"] == "dlv_x"


# --- retry policy ----------------------------------------------------------------------------------------------

DELAYS = [5.0, 30.0, 300.0]


@pytest.mark.parametrize(
    ("kind", "status", "healable"),
    [
        (FailureKind.HTTP_STATUS, 500, True),
        (FailureKind.HTTP_STATUS, 502, True),
        (FailureKind.HTTP_STATUS, 503, True),
        (FailureKind.HTTP_STATUS, 599, True),
        (FailureKind.HTTP_STATUS, 429, True),
        (FailureKind.HTTP_STATUS, 400, False),
        (FailureKind.HTTP_STATUS, 401, False),
        (FailureKind.HTTP_STATUS, 404, False),
        (FailureKind.HTTP_STATUS, 410, False),
        (FailureKind.HTTP_STATUS, 301, False),
        (FailureKind.HTTP_STATUS, 302, False),
        (FailureKind.HTTP_STATUS, 100, False),
        (FailureKind.TIMEOUT, None, True),
        (FailureKind.CONNECTION, None, True),
        (FailureKind.DNS, None, True),
        (FailureKind.REFUSED_ADDRESS, None, False),
        (FailureKind.INVALID_URL, None, False),
    ],
)
def test_only_what_can_heal_is_retried(kind, status, healable):
    assert policy.can_heal(kind, status) is healable
    decision = policy.decide(succeeded=False, kind=kind, status_code=status, failed_attempts=1, delays=DELAYS)
    assert decision == (Decision(Verdict.RETRY, 5.0) if healable else Decision(Verdict.FAILED))


def test_schedule_is_first_attempt_plus_one_retry_per_delay():
    decisions = [
        policy.decide(
            succeeded=False, kind=FailureKind.TIMEOUT, status_code=None, failed_attempts=n, delays=DELAYS
        )
        for n in range(1, 6)
    ]
    assert decisions == [
        Decision(Verdict.RETRY, 5.0),
        Decision(Verdict.RETRY, 30.0),
        Decision(Verdict.RETRY, 300.0),
        Decision(Verdict.FAILED),
        Decision(Verdict.FAILED),
    ]
    assert policy.decide(
        succeeded=True, kind=None, status_code=200, failed_attempts=3, delays=DELAYS
    ) == Decision(Verdict.SUCCEEDED)
    assert policy.decide(
        succeeded=False, kind=FailureKind.TIMEOUT, status_code=None, failed_attempts=1, delays=[]
    ) == Decision(Verdict.FAILED)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_is_success(status):
    assert policy.is_success(status)


@pytest.mark.parametrize("status", [None, 199, 300, 404, 500])
def test_anything_else_is_not_success(status):
    assert not policy.is_success(status)


# --- layering ----------------------------------------------------------------------------------------------------

PURE_MODULES = ["matching", "signing", "payloads", "policy", "urlsafety"]
BANNED_ROOTS = {
    "django",
    "rest_framework",
    "channels",
    "celery",
    "requests",
    "urllib3",
    "executions",
    "baton_site",
}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_framework(module):
    source = (Path(__file__).resolve().parents[2] / "webhooks" / f"{module}.py").read_text()
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert not roots & BANNED_ROOTS
