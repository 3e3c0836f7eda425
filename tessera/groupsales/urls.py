from django.urls import path

from tessera.groupsales import views

app_name = "groupsales"

urlpatterns = [
    path("", views.my_requests, name="list"),
    path("sessions/<int:session_id>/request/", views.request_form, name="request"),
    path("requests/<int:request_id>/", views.detail, name="detail"),
    path("manage/", views.manage, name="manage"),
    path("boxes/<int:offer_id>/buy/", views.buy_box, name="buy_box"),
]
