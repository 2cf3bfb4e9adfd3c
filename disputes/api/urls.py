from rest_framework.routers import SimpleRouter

from disputes.api.views import (
    CourtViewSet,
    DisputeCategoryViewSet,
    DisputeScaleViewSet,
    DisputeViewSet,
    EntrustedMediationViewSet,
    JudicialConfirmationViewSet,
    MediationBodyViewSet,
    MediationLineViewSet,
)

router = SimpleRouter()
router.register("disputes", DisputeViewSet, basename="dispute")
router.register("entrusted-mediations", EntrustedMediationViewSet, basename="entrustedmediation")
router.register("judicial-confirmations", JudicialConfirmationViewSet, basename="judicialconfirmation")
router.register("dispute-categories", DisputeCategoryViewSet, basename="disputecategory")
router.register("dispute-scales", DisputeScaleViewSet, basename="disputescale")
router.register("mediation-lines", MediationLineViewSet, basename="mediationline")
router.register("mediation-bodies", MediationBodyViewSet, basename="mediationbody")
router.register("courts", CourtViewSet, basename="court")

urlpatterns = router.urls
