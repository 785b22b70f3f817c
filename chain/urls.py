from django.urls import include, path

app_name = "chain"
urlpatterns = [
    path("", include("chain.wallet_urls")),  # wallets (xpubs) and deposit addresses
    path("", include("chain.health_urls")),  # network health
]
