from django.urls import path

from tessera.apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("keys/", views.keys, name="keys"),
    path("keys/sandbox/", views.sandbox, name="sandbox"),
    path("keys/<int:key_id>/new/", views.shown, name="shown"),
    path("keys/<int:key_id>/revoke/", views.revoke, name="revoke"),
    path("keys/<int:key_id>/rotate/", views.rotate, name="rotate"),
    path("keys/<int:key_id>/calls/", views.key_calls, name="key_calls"),
    path("calls/", views.calls, name="calls"),
]
