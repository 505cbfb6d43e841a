from django.urls import path

from datapolicy import views

urlpatterns = [
    path("settings/data-policies/sandbox/", views.sandbox, name="data-policy-sandbox"),
    path("api/data-policies/preview", views.preview_api, name="data-policy-preview"),
]
