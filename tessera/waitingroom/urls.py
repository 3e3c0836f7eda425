app_name = "waitingroom"

urlpatterns: list = []
