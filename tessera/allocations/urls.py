from django.urls import path

from tessera.allocations import views

app_name = "allocations"

urlpatterns = [
    path("", views.console, name="console"),
    path("sessions/<int:session_id>/allocate/", views.allocate, name="allocate"),
    path("sessions/<int:session_id>/map/", views.seat_map, name="map"),
    path("<int:allocation_id>/return/", views.return_places, name="return"),
    path("sell/", views.sell, name="sell"),
]
