from django.apps import AppConfig


class PmoConfig(AppConfig):
    name = "pmo"
