from django.urls import path

from tessera.partners import views

app_name = "partners"

urlpatterns = [
    path("console/", views.home, name="console"),
]
