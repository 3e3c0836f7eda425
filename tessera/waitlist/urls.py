from django.urls import path

from tessera.waitlist import views

app_name = "waitlist"

urlpatterns = [
    path("sessions/<int:session_id>/", views.session_waitlist, name="session"),
    path("offers/<int:offer_id>/", views.offer_detail, name="offer"),
]
