from django.urls import path

from tessera.transfers import views

app_name = "transfers"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("tickets/<uuid:public_id>/send/", views.send, name="send"),
    path("link/<str:token>/", views.link, name="link"),
    path("<uuid:transfer_id>/accept/", views.accept, name="accept"),
    path("<uuid:transfer_id>/cancel/", views.cancel, name="cancel"),
    path("<uuid:transfer_id>/decline/", views.decline, name="decline"),
]
