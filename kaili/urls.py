from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from kaili import export_views, user_views, views
from kaili.api.views import ExportJobViewSet, TokenView, UserViewSet

api_router = SimpleRouter()
api_router.register("users", UserViewSet, basename="user")
api_router.register("exports", ExportJobViewSet, basename="exportjob")

api_patterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(api_router.urls)),
    path("", include("grids.api.urls")),
    path("", include("populations.api.urls")),
    path("", include("cases.api.urls")),
    path("", include("disputes.api.urls")),
    path("", include("dashboard.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/two-factor/", views.two_factor_view, name="two_factor"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/password/", views.password_change, name="password-change"),
    path("users/", user_views.user_list_page, name="account-list"),
    path("users/new/", user_views.user_create_page, name="account-create"),
    path("users/<int:pk>/", user_views.user_detail_page, name="account-detail"),
    path("users/<int:pk>/grant/", user_views.user_grant_page, name="account-grant"),
    path("users/<int:pk>/revoke/", user_views.user_revoke_page, name="account-revoke"),
    path("users/<int:pk>/deactivate/", user_views.user_deactivate_page, name="account-deactivate"),
    path("users/<int:pk>/password/", user_views.user_password_page, name="account-password"),
    path("users/<int:pk>/unlock/", user_views.user_unlock_page, name="account-unlock"),
    path("audit/", views.audit_log, name="audit-log"),
    path("audit/export/", views.audit_export, name="audit-export"),
    path("audit/verify/", views.audit_verify_now, name="audit-verify"),
    path("exports/<int:pk>/", export_views.export_detail, name="export-detail"),
    path("exports/<int:pk>/progress/", export_views.export_progress, name="export-progress"),
    path("exports/<int:pk>/download/", export_views.export_download, name="export-download"),
    path("grids/", include("grids.urls")),
    path("cases/", include("cases.urls")),
    path("disputes/", include("disputes.urls")),
    path("populations/", include("populations.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
