from django.urls import path

from dashboard.api import views

urlpatterns = [
    path("stats/", views.StatsView.as_view(), name="stats"),
    path("stats/children/", views.ChildrenView.as_view(), name="stats-children"),
    path("stats/trend/", views.TrendView.as_view(), name="stats-trend"),
    path("stats/metrics/", views.MetricsView.as_view(), name="stats-metrics"),
]
