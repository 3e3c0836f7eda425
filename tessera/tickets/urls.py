from django.urls import path

from tessera.tickets import views

app_name = "tickets"

urlpatterns = [
    path("<uuid:public_id>/", views.ticket_detail, name="detail"),
    path("<uuid:public_id>/qr.svg", views.ticket_qr, name="qr"),
    path("<uuid:public_id>/live.json", views.ticket_rotating, name="rotating"),
    path("order/<str:number>/pdf", views.order_pdf, name="order_pdf"),
]
