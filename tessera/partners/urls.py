from django.urls import path

from tessera.partners import views

app_name = "partners"

urlpatterns = [
    path("console/", views.home, name="console"),
    path("console/members/", views.members, name="members"),
    path("apply/", views.apply, name="apply"),
    path("review/", views.review_list, name="review_list"),
    path("review/<int:application_id>/", views.review, name="review"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
