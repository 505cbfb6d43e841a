from django.urls import path

from audit import api, views

urlpatterns = [
    path("settings/audit-log/", views.audit_log, name="audit-log"),
    path("settings/audit-log/export.csv", views.audit_log_export, name="audit-log-export"),
    path("settings/audit-log/<uuid:record_id>/", views.audit_record, name="audit-record"),
    path("settings/user-log/", views.user_log, name="user-log"),
    path("settings/user-log/export.csv", views.user_log_export, name="user-log-export"),
    path("settings/user-log/<uuid:record_id>/", views.user_record, name="user-record"),
    path("api/audit/", api.AuditRecordList.as_view(), name="api-audit-list"),
    path("api/audit/keys", api.AuditKeys.as_view(), name="api-audit-keys"),
    path(
        "api/audit/checkpoints/latest",
        api.CheckpointDetail.as_view(),
        name="api-audit-checkpoint-latest",
    ),
    path(
        "api/audit/checkpoints/consistency",
        api.CheckpointConsistency.as_view(),
        name="api-audit-consistency",
    ),
    path(
        "api/audit/checkpoints/<int:seq>",
        api.CheckpointDetail.as_view(),
        name="api-audit-checkpoint",
    ),
    path(
        "api/audit/<str:record_id>/proof",
        api.AuditRecordProof.as_view(),
        name="api-audit-proof",
    ),
    path("api/audit/<str:record_id>/", api.AuditRecordDetail.as_view(), name="api-audit-record"),
]
