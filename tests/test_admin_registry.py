"""Django admin is registered for every model of payram's apps (issue 2, item 8), and
each admin list page opens for a superuser."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

OUR_APPS = ("members", "links", "chain")


def our_models():
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_every_model_is_in_the_admin(model):
    assert model in admin.site._registry, f"{model._meta.label} has no ModelAdmin"


@pytest.mark.django_db
def test_every_admin_list_page_opens(client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-12345")
    client.force_login(boss)
    for model in our_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
