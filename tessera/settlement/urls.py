from django.urls import path

from tessera.settlement import views

app_name = "settlement"

urlpatterns = [
    path("", views.statement_list, name="statements"),
    path("<int:pk>/", views.statement_detail, name="statement"),
    path("<int:pk>/statement.xlsx", views.statement_xlsx, name="statement_xlsx"),
    path("<int:pk>/statement.pdf", views.statement_pdf, name="statement_pdf"),
    path("<int:pk>/approve/", views.statement_approve, name="statement_approve"),
    path("<int:pk>/paid/", views.statement_paid, name="statement_paid"),
]
