from django.http import HttpResponse
from django.urls import path

urlpatterns = [
    path("wallets/", lambda request: HttpResponse("Wallets: not built yet"), name="wallets"),  # placeholder, replaced by the wallets work
]
