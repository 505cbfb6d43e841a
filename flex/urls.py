from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from flex import api, auth, metrics, views

# Flex's own pages, never Django's; flex.middleware routes 404s here with DEBUG on too.
handler403 = "flex.errors.permission_denied"
handler404 = "flex.errors.page_not_found"
handler500 = "flex.errors.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("settings/tokens/", views.token_settings, name="token-settings"),
    path("api/tokens/", api.TokenListView.as_view(), name="api-token-list"),
    path("api/tokens/<int:token_id>/", api.TokenDetailView.as_view(), name="api-token"),
    path("accounts/login/", auth.SignInView.as_view(), name="login"),
    path("accounts/login/error/", auth.sign_in_error, name="login-error"),
    path("accounts/logout/", auth.SignOutView.as_view(), name="logout"),
    # Admin signs in and out through ours: no second password door, one audit path.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/logout/", auth.SignOutView.as_view()),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI with its init script served as a file of its own: no inline script or style.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="flex/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("", include(auth.social_urls)),
    path("", include("topics.urls")),
    path("", include("rbac.urls")),
    path("", include("datapolicy.urls")),
    path("", include("audit.urls")),
    path("", include("approvals.urls")),
]
