"""The agent registry as stored rows: loaded from Markdown definitions, browsable and editable in the admin."""

from __future__ import annotations

from django.db import models


class AgentCategory(models.TextChoices):
    ENGINEERING = "Engineering"
    QUALITY = "Quality"
    ARCHITECTURE = "Architecture"
    DATA = "Data"
    OPERATIONS = "Operations"
    MANAGEMENT = "Management"
    SECURITY = "Security"


class AgentDefinition(models.Model):
    """One agent the planner may put on a step; `name` is unique and may carry a flavour (`base--flavor`)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    model = models.CharField(max_length=40, default="sonnet")
    permission_mode = models.CharField(max_length=40, default="default")
    color = models.CharField(max_length=40, null=True, blank=True)
    tools = models.JSONField(default=list, blank=True)
    category = models.CharField(
        max_length=20, choices=AgentCategory.choices, default=AgentCategory.ENGINEERING
    )
    base_name = models.CharField(max_length=120, db_index=True)
    flavor = models.CharField(max_length=120, null=True, blank=True)
    instructions = models.TextField(blank=True, default="")
    source_path = models.CharField(
        max_length=1000, blank=True, default="", help_text="Empty when made in the admin."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["category", "name"])]

    def __str__(self) -> str:
        return self.name
