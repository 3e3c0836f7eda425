from django.urls import path

from tessera.privacy import views

app_name = "privacy"

urlpatterns = [
    path("data/export/", views.export, name="export"),
    path("delete/", views.delete_account, name="delete"),
]
