from django.urls import path

from tessera.aftersales import views

app_name = "aftersales"

urlpatterns = [
    path("orders/<str:number>/refund/", views.refund, name="refund"),
    path("orders/<str:number>/change-refund/", views.change_refund, name="change_refund"),
    path(
        "orders/<str:number>/refunds/<uuid:request_id>/withdraw/",
        views.withdraw,
        name="withdraw",
    ),
]
