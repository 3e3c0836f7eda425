from django.urls import path

from tessera.reconciliation import views

app_name = "reconciliation"

urlpatterns = [
    path("", views.days, name="days"),
    path("import/", views.import_file, name="import"),
    path("run/", views.run, name="run"),
    path("mismatches/<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<str:provider>/<str:day>/", views.day, name="day"),
]
