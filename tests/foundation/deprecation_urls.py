"""A URLconf for tests/foundation/test_api_deprecation.py: one deprecated operation and its
current neighbour, beside the real API."""
from datetime import date

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from sheshi.api.deprecation import deprecated


class OldThingView(APIView):
    @deprecated(since=date(2026, 12, 1), sunset=date(2027, 6, 30), link="https://sheshi.dev/api/migrate/things")
    def get(self, request):
        return Response({"thing": "old"})

    def post(self, request):
        return Response({"thing": "new"}, status=201)


urlpatterns = [
    path("api/v1/old-thing/", OldThingView.as_view()),
    path("", include("sheshi.urls")),
]
