"""The statistics API (issue 7); written by the API helper."""

from rest_framework.views import APIView


class StatsView(APIView):
    pass


class ChildrenView(APIView):
    pass


class TrendView(APIView):
    pass


class MetricsView(APIView):
    pass
