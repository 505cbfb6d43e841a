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
    path("api/audit/<str:record_id>/", api.AuditRecordDetail.as_view(), name="api-audit-record"),
]
