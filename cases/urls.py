from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("report/", views.report, name="report"),
    path("mine/", views.mine, name="mine"),
    path("queue/", views.queue, name="queue"),
    path("queue/dispatch/", views.queue_dispatch, name="queue-dispatch"),
    path("queue/export/", views.queue_export, name="queue-export"),
    path("department/", views.department, name="department"),
    path("person-lookup/", views.person_lookup, name="person-lookup"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/steps/<str:step>/", views.step, name="step"),
    path("<str:number>/attachments/<int:pk>/", views.attachment, name="attachment"),
]
