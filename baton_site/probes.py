"""Counts the readiness probe reports, gathered from the apps that own them."""

from __future__ import annotations


def active_executions() -> int:
    from executions.selectors import active_execution_count

    return active_execution_count()


def pending_decisions() -> int:
    from decisions.selectors import pending_decision_count

    return pending_decision_count()
