import pytest

from members.models import Project

pytestmark = pytest.mark.django_db


def test_login_required_for_dashboard_pages(client):
    for url in ["/payments/", "/payments/new/", "/members/", "/members/new/", "/members/projects/", "/payments/export.csv"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url


def test_create_project_lists_it_for_its_owner_only(merchant_client, merchant, other_merchant, client):
    response = merchant_client.post("/members/projects/", {"name": "Book Stall", "return_url": "https://books.example/ok"})
    assert response.status_code == 302
    project = Project.objects.get(name="Book Stall")
    assert list(project.owners.all()) == [merchant]
    page = merchant_client.get("/members/projects/").content.decode()
    assert "Book Stall" in page and "https://books.example/ok" in page

    client.force_login(other_merchant)
    assert "Book Stall" not in client.get("/members/projects/").content.decode()


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "", "return_url": ""}, "name", "This field is required."),
        ({"name": "   ", "return_url": ""}, "name", "required"),
        ({"name": "x" * 101, "return_url": ""}, "name", "at most 100 characters"),
        ({"name": "Shop", "return_url": "javascript:alert(1)"}, "return_url", "http:// or https://"),
        ({"name": "Shop", "return_url": "ftp://files.example/"}, "return_url", "http:// or https://"),
    ],
)
def test_bad_project_input_shows_field_error_and_writes_nothing(merchant_client, data, field, message):
    response = merchant_client.post("/members/projects/", data)
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert not Project.objects.exists()


def test_rename_project(merchant_client, project):
    response = merchant_client.post(f"/members/projects/{project.pk}/", {"name": "Corner Shop & Café", "return_url": ""})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "Corner Shop & Café"
    assert project.return_url == ""


def test_another_merchants_project_is_not_found(merchant_client, other_project):
    assert merchant_client.get(f"/members/projects/{other_project.pk}/").status_code == 404
    response = merchant_client.post(f"/members/projects/{other_project.pk}/", {"name": "Mine now"})
    assert response.status_code == 404
    other_project.refresh_from_db()
    assert other_project.name == "Rival Store"
    assert merchant_client.get("/members/projects/999999/").status_code == 404


def test_mutations_need_csrf(client, merchant):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(merchant)
    assert strict.post("/members/projects/", {"name": "No token"}).status_code == 403
    assert not Project.objects.filter(name="No token").exists()
