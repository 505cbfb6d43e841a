from django.urls import path

from approvals import api, views

urlpatterns = [
    path("settings/approvals/", views.approval_list, name="approval-list"),
    path("settings/approvals/<uuid:approval_id>/", views.approval_detail, name="approval-detail"),
    path(
        "settings/approvals/<uuid:approval_id>/approve",
        views.approval_approve,
        name="approval-approve",
    ),
    path(
        "settings/approvals/<uuid:approval_id>/reject",
        views.approval_reject,
        name="approval-reject",
    ),
    path("api/approvals/", api.ApprovalList.as_view(), name="api-approval-list"),
    path("api/approvals/<uuid:approval_id>/", api.ApprovalDetail.as_view(), name="api-approval"),
    path(
        "api/approvals/<uuid:approval_id>/approve",
        api.ApprovalApprove.as_view(),
        name="api-approval-approve",
    ),
    path(
        "api/approvals/<uuid:approval_id>/reject",
        api.ApprovalReject.as_view(),
        name="api-approval-reject",
    ),
]
