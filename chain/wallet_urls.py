from django.urls import path

from chain import views_wallets

urlpatterns = [
    path("wallets/", views_wallets.wallet_list, name="wallets"),
    path("wallets/<int:project_id>/key/<slug:family>/", views_wallets.wallet_key_set, name="wallet_key_set"),
    path("wallets/<int:project_id>/key/<slug:family>/replace/", views_wallets.wallet_key_replace, name="wallet_key_replace"),
    path("wallets/<int:project_id>/confirmations/", views_wallets.wallet_confirmations_set, name="wallet_confirmations_set"),
]
