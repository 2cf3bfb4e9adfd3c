from rest_framework.routers import SimpleRouter

from populations.api.views import (
    EnrollmentViewSet,
    FacilityViewSet,
    HouseholdViewSet,
    PersonViewSet,
    PlacementViewSet,
    VisitViewSet,
)

router = SimpleRouter()
router.register("households", HouseholdViewSet, basename="household")
router.register("persons", PersonViewSet, basename="person")
router.register("enrollments", EnrollmentViewSet, basename="enrollment")
router.register("visits", VisitViewSet, basename="visit")
router.register("placements", PlacementViewSet, basename="placement")
router.register("facilities", FacilityViewSet, basename="facility")
urlpatterns = router.urls
