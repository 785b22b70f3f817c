from django.http import HttpResponse
from django.urls import path

urlpatterns = [
    path("health/", lambda request: HttpResponse("Network health: not built yet"), name="health"),  # placeholder, replaced by the scanning work
]
