from django.urls import path

from tessera.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.console, name="console"),
    path("<int:pk>/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/rotate/", views.rotate, name="rotate"),
    path("<int:pk>/ping/", views.ping, name="ping"),
    path("<int:pk>/deliveries/", views.deliveries, name="deliveries"),
    path("<int:pk>/deliveries/<uuid:uid>/redeliver/", views.redeliver, name="redeliver"),
]
