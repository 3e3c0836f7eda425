from django.urls import path

from tessera.identities import views

app_name = "identities"

urlpatterns = [
    path("", views.attendees, name="attendees"),
    path("<int:attendee_id>/remove/", views.remove, name="remove"),
]
