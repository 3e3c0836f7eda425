from django.urls import path

from tessera.support import views

app_name = "support"

urlpatterns = [
    path("", views.help_centre, name="help"),
    path("large-text/", views.large_text, name="large_text"),
    path("assistance/", views.assistance, name="assistance"),
    path("o/<slug:slug>/", views.help_centre, name="organizer_help"),
]
