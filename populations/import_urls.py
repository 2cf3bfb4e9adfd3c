"""The registry import pages, included at ``/populations/imports/`` (namespace ``populations``)."""

from django.urls import path

from populations import import_views

urlpatterns = [
    path("", import_views.PeopleImportView.as_view(), name="import"),
    path("<int:pk>/", import_views.PeopleImportDetailView.as_view(), name="import-detail"),
    path("<int:pk>/progress/", import_views.PeopleImportProgressView.as_view(), name="import-progress"),
    path("<int:pk>/confirm/", import_views.PeopleImportConfirmView.as_view(), name="import-confirm"),
    path("<int:pk>/errors.csv", import_views.PeopleImportErrorsView.as_view(), name="import-errors"),
    path("template.csv", import_views.PeopleImportTemplateView.as_view(), name="import-template"),
]
