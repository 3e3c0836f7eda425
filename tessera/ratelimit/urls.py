from django.urls import path

from tessera.ratelimit import views

app_name = "ratelimit"

urlpatterns = [
    path("", views.verify, name="verify"),
]
