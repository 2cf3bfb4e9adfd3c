from rest_framework.routers import SimpleRouter

from cases.api.views import CategoryViewSet, DepartmentViewSet, IncidentViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("categories", CategoryViewSet, basename="category")
router.register("departments", DepartmentViewSet, basename="department")

urlpatterns = router.urls
