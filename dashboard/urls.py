from django.urls import path

from dashboard import report_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("nodes/", views.node_search, name="nodes"),
    path("export/", report_views.export, name="export"),
    path("report/", report_views.monthly_report, name="report"),
    path("assessments/", report_views.assessments, name="assessments"),
    path("assessments/<str:code>/<int:year>/", report_views.assessment, name="assessment"),
    path("rollup/rebuild/", report_views.rebuild, name="rebuild"),
    path("rollup/<int:pk>/", report_views.rollup_run, name="rollup-run"),
]
