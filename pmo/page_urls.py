"""The PMO's HTML pages, mounted at /pmo/ by `baton_site.urls`."""

from django.urls import path

from pmo import pages

app_name = "pmo"

urlpatterns = [
    path("", pages.board, name="board"),
    path("board/fragment", pages.board_fragment, name="board-fragment"),
    path("live", pages.live, name="live"),
    path("cards/<str:card_id>", pages.card, name="card"),
    path("cards/<str:card_id>/fragment", pages.card_fragment, name="card-fragment"),
    path("decisions/<str:request_id>/resolve", pages.decision_resolve, name="decision-resolve"),
    path("signals", pages.signals, name="signals"),
    path("signals/<str:signal_id>/resolve", pages.signal_resolve, name="signal-resolve"),
    path("signals/<str:signal_id>/forge", pages.signal_forge, name="signal-forge"),
    path("projects", pages.projects, name="projects"),
    path("projects/<str:project_id>/remove", pages.project_remove, name="project-remove"),
    path("dashboard", pages.dashboard, name="dashboard"),
]
