from django.urls import path

from grids import import_views, views

app_name = "grids"
urlpatterns = [
    path("", views.GridListView.as_view(), name="list"),
    path("tree/", views.GridTreeView.as_view(), name="tree"),
    path("export/", views.GridExportView.as_view(), name="export"),
    path("imports/", import_views.GridImportView.as_view(), name="import"),
    path("imports/<int:pk>/", import_views.GridImportDetailView.as_view(), name="import-detail"),
    path("imports/<int:pk>/progress/", import_views.GridImportProgressView.as_view(), name="import-progress"),
    path("imports/<int:pk>/confirm/", import_views.GridImportConfirmView.as_view(), name="import-confirm"),
    path("imports/<int:pk>/errors.csv", import_views.GridImportErrorsView.as_view(), name="import-errors"),
    path("<str:code>/", views.GridDetailView.as_view(), name="detail"),
]
