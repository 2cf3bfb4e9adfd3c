from django.urls import include, path

from populations import views

app_name = "populations"
urlpatterns = [
    path("imports/", include("populations.import_urls")),
    path("households/", views.HouseholdListView.as_view(), name="households"),
    path("households/<str:number>/", views.household_detail, name="household"),
    path("households/<str:number>/edit/", views.household_edit, name="household-edit"),
    path("households/<str:number>/members/", views.person_create, name="person-create"),
    path("households/<str:number>/doorplate.png", views.doorplate_png, name="doorplate-png"),
    path("households/<str:number>/doorplate.svg", views.doorplate_svg, name="doorplate-svg"),
    path("h/<str:token>/", views.doorplate, name="doorplate"),
    path("units/<str:code>/doorplates/", views.unit_doorplates, name="unit-doorplates"),
    path("persons/", views.PersonListView.as_view(), name="persons"),
    path("persons/export/", views.PersonExportView.as_view(), name="persons-export"),
    path("persons/<int:pk>/", views.person_detail, name="person"),
    path("persons/<int:pk>/edit/", views.person_edit, name="person-edit"),
    path("persons/<int:pk>/reveal/", views.person_reveal, name="person-reveal"),
    path("persons/<int:pk>/enroll/", views.enroll, name="enroll"),
    path("programmes/", views.programmes, name="programmes"),
    path("worklist/", views.WorklistView.as_view(), name="worklist"),
    path("officers/", views.officer_duties, name="officer-duties"),
    path("enrollments/<int:pk>/", views.enrollment_detail, name="enrollment"),
    path("enrollments/<int:pk>/visits/", views.visit_create, name="visit-record"),
    path("enrollments/<int:pk>/exit/", views.enrollment_exit, name="enrollment-exit"),
    path("enrollments/<int:pk>/placements/", views.placement_start, name="placement-start"),
    path("enrollments/<int:pk>/placements/<int:placement_pk>/end/", views.placement_end, name="placement-end"),
]
