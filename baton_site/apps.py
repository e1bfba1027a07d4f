from django.apps import AppConfig


class BatonSiteConfig(AppConfig):
    name = "baton_site"
    verbose_name = "Baton"
