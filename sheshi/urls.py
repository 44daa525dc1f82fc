from django.contrib import admin
from django.urls import include, path

from sheshi.api.views import healthz, readyz
from sheshi.observability.views import metrics_view

admin.site.site_header = "Sheshi"
admin.site.site_title = "Sheshi admin"
admin.site.index_title = "Financial operating system"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("sheshi.api.urls")),
]

handler400 = "sheshi.api.problems.handler400"
handler403 = "sheshi.api.problems.handler403"
handler404 = "sheshi.api.problems.handler404"
handler500 = "sheshi.api.problems.handler500"
