from django.urls import path

from disputes import views

app_name = "disputes"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.register, name="register"),
    path("mine/", views.mine, name="mine"),
    path("export/", views.export, name="export"),
    path("supervision/", views.supervision, name="supervision"),
    path("entrusted/", views.entrusted, name="entrusted"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/steps/<str:step>/", views.step, name="step"),
    path("<str:number>/parties/<int:pk>/reveal/", views.party_reveal, name="party-reveal"),
    path("<str:number>/agreement/", views.agreement, name="agreement"),
]
