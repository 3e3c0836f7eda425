from django.urls import path

from tessera.storefront import account, checkout, ics, steps, views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.calendar, name="calendar"),
    path("search/", views.search, name="search"),
    path("events/<slug:slug>/", views.event_detail, name="event"),
    path("venues/<slug:slug>/", views.venue_detail, name="venue"),
    path("sessions/<int:session_id>/buy/", checkout.buy, name="buy"),
    path("sessions/<int:session_id>/calendar.ics", ics.session_ics, name="session_ics"),
    path("checkout/<uuid:hold_id>/", steps.checkout, name="checkout"),
    path("checkout/<uuid:hold_id>/payment/", steps.checkout_payment, name="checkout_payment"),
    path("checkout/<uuid:hold_id>/recover/", steps.checkout_recover, name="checkout_recover"),
    path("orders/", account.my_orders, name="my_orders"),
    path("orders/<str:number>/", account.order_detail, name="order"),
    path("signup/", checkout.signup, name="signup"),
]
