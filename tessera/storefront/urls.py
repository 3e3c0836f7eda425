from django.urls import path

from tessera.storefront import account, checkout, ics, seatmap, steps, views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.calendar, name="calendar"),
    path("search/", views.search, name="search"),
    path("events/<slug:slug>/", views.event_detail, name="event"),
    path("venues/<slug:slug>/", views.venue_detail, name="venue"),
    path("sessions/<int:session_id>/buy/", checkout.buy, name="buy"),
    path("sessions/<int:session_id>/calendar.ics", ics.session_ics, name="session_ics"),
    path(
        "sessions/<int:session_id>/seatmap/availability/",
        seatmap.availability,
        name="seatmap_availability",
    ),
    path(
        "sessions/<int:session_id>/seatmap/sections/<int:section_id>/seats/",
        seatmap.section_seats,
        name="seatmap_seats",
    ),
    path(
        "sessions/<int:session_id>/seatmap/sections/<int:section_id>/view/",
        seatmap.section_view,
        name="seatmap_view",
    ),
    path("sessions/<int:session_id>/seatmap/heat/", seatmap.heat, name="seatmap_heat"),
    path("sessions/<int:session_id>/seatmap/propose/", seatmap.propose, name="seatmap_propose"),
    path("sessions/<int:session_id>/seatmap/hold/", seatmap.hold, name="seatmap_hold"),
    path("checkout/<uuid:hold_id>/", steps.checkout, name="checkout"),
    path("checkout/<uuid:hold_id>/payment/", steps.checkout_payment, name="checkout_payment"),
    path("checkout/<uuid:hold_id>/recover/", steps.checkout_recover, name="checkout_recover"),
    path("orders/", account.my_orders, name="my_orders"),
    path("orders/<str:number>/", account.order_detail, name="order"),
    path("signup/", checkout.signup, name="signup"),
]
