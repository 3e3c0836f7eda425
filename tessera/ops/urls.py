from django.urls import path

from tessera.ops import views

urlpatterns = [
    path("metrics", views.metrics_view, name="metrics"),
    path("health/live", views.live, name="health-live"),
    path("health/ready", views.ready, name="health-ready"),
]
