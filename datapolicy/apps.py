from django.apps import AppConfig


class DataPolicyConfig(AppConfig):
    name = "datapolicy"
    verbose_name = "Data policies"
