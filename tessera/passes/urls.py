from django.urls import path

from tessera.passes import views

app_name = "passes"

urlpatterns = [
    path("", views.product_list, name="list"),
    path("<int:product_id>/", views.product_detail, name="product"),
    path("mine/<int:pass_id>/", views.pass_detail, name="pass"),
    path("mine/<int:pass_id>/release/", views.release, name="release"),
    path("mine/<int:pass_id>/return/", views.return_pass, name="return"),
]
