from django.urls import path

from tessera.resale import views

app_name = "resale"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("tickets/<uuid:public_id>/sell/", views.sell, name="sell"),
    path("listings/<uuid:listing_id>/withdraw/", views.withdraw, name="withdraw"),
    path("listings/<uuid:listing_id>/buy/", views.buy, name="buy"),
    path("sessions/<int:session_id>/", views.session_listings, name="session"),
]
