from django.urls import path

from tessera.payments import views

app_name = "payments"

urlpatterns = [
    path("sandbox/<uuid:payment_id>/", views.sandbox_cashier, name="sandbox_cashier"),
]
