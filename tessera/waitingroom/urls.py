from django.urls import path

from tessera.waitingroom import views

app_name = "waitingroom"

urlpatterns = [
    path("-/status", views.status, name="status"),
    path("-/ping", views.ping, name="ping"),
    path("<int:room_id>/", views.queue, name="queue"),
]
