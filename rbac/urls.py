from django.urls import path

from rbac import views

urlpatterns = [
    path("settings/policies/simulate/", views.policy_simulate, name="policy-simulate"),
    path("api/rbac/decide", views.decide_api, name="rbac-decide"),
]
