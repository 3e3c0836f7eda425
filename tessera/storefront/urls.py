from django.urls import path

from tessera.storefront import checkout, views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.calendar, name="calendar"),
    path("search/", views.search, name="search"),
    path("events/<slug:slug>/", views.event_detail, name="event"),
    path("venues/<slug:slug>/", views.venue_detail, name="venue"),
    path("sessions/<int:session_id>/buy/", checkout.buy, name="buy"),
    path("checkout/<uuid:hold_id>/", checkout.checkout, name="checkout"),
    path("orders/", checkout.my_orders, name="my_orders"),
    path("orders/<str:number>/", checkout.order_detail, name="order"),
    path("signup/", checkout.signup, name="signup"),
]
