from django.urls import path

from grids import views

app_name = "grids"
urlpatterns = [
    path("", views.GridListView.as_view(), name="list"),
    path("export/", views.GridExportView.as_view(), name="export"),
    path("<str:code>/", views.GridDetailView.as_view(), name="detail"),
]
