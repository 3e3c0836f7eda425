from django.urls import path

from tessera.checkin import views

app_name = "checkin"

urlpatterns = [
    path("scanner/", views.scanner, name="scanner"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("vendor/jsqr.js", views.decoder, name="decoder"),
    path("sessions/<int:session_id>/dashboard/", views.dashboard, name="dashboard"),
]
