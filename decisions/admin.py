from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from baton_site.errors import BatonError
from decisions.models import DecisionRequest
from decisions.services import decision_resolve


class ResolveForm(forms.Form):
    option = forms.CharField()
    rationale = forms.CharField(required=False, widget=forms.Textarea)


@admin.register(DecisionRequest)
class DecisionRequestAdmin(admin.ModelAdmin):
    list_display = ("request_id", "task_id", "decision_type", "status", "chosen_option", "created_at")
    list_filter = ("status", "decision_type")
    search_fields = ("request_id", "task_id", "summary")
    readonly_fields = [field.name for field in DecisionRequest._meta.fields]
    actions = ["resolve_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Resolve the selected pending decision")
    def resolve_selected(
        self, request: HttpRequest, queryset: QuerySet[DecisionRequest]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one decision to resolve.", messages.WARNING)
            return None
        decision = queryset.get()
        if "apply" in request.POST:
            form = ResolveForm(request.POST)
            if form.is_valid():
                try:
                    decision_resolve(
                        request_id=decision.request_id,
                        option=form.cleaned_data["option"],
                        rationale=form.cleaned_data["rationale"],
                        resolved_by=request.user.get_username() or "admin",
                    )
                except BatonError as exc:
                    self.message_user(request, exc.detail, messages.ERROR)
                else:
                    self.message_user(request, f"Resolved {decision.request_id}.", messages.SUCCESS)
                return redirect(request.get_full_path())
        form = ResolveForm(initial={"option": decision.options[0] if decision.options else ""})
        return render(
            request,
            "admin/decisions/resolve.html",
            {
                **self.admin_site.each_context(request),
                "decision": decision,
                "form": form,
                "opts": self.model._meta,
            },
        )
