from django.urls import include, path

app_name = "populations"
urlpatterns = [
    path("imports/", include("populations.import_urls")),
]
