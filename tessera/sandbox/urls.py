from django.urls import path

from tessera.sandbox import views

app_name = "sandbox"

urlpatterns = [
    path("sandbox/<uuid:payment_id>/", views.cashier, name="cashier"),
]
