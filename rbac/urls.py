from django.urls import path

from rbac import api, views

urlpatterns = [
    path("settings/policies/simulate/", views.policy_simulate, name="policy-simulate"),
    path("api/rbac/decide", views.decide_api, name="rbac-decide"),
    path("settings/policies/temporary/", views.temporary_policies, name="temporary-policies"),
    path(
        "settings/policies/temporary/<int:pk>/revoke",
        views.temporary_policy_revoke,
        name="temporary-policy-revoke",
    ),
    path(
        "api/rbac/temporary-policies/",
        api.TemporaryPolicyList.as_view(),
        name="api-temporary-policies",
    ),
    path(
        "api/rbac/temporary-policies/<int:pk>/",
        api.TemporaryPolicyDetail.as_view(),
        name="api-temporary-policy",
    ),
]
