from django.urls import path

from tessera.aftersales import views_exchanges as views

app_name = "exchanges"

urlpatterns = [
    path("orders/<str:number>/", views.start, name="exchange_start"),
    path("orders/<str:number>/map/<str:session_id>/", views.pick_on_map, name="exchange_map"),
    path("orders/<str:number>/quote/<uuid:hold_id>/", views.quote, name="exchange_quote"),
    path("<uuid:exchange_id>/", views.detail, name="exchange_detail"),
]
