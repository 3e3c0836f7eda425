from django.urls import path

from tessera.storefront import views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.calendar, name="calendar"),
    path("search/", views.search, name="search"),
    path("events/<slug:slug>/", views.event_detail, name="event"),
    path("venues/<slug:slug>/", views.venue_detail, name="venue"),
]
