import json

import pytest

from members.models import Member

pytestmark = pytest.mark.django_db


def test_add_member_lowercases_email(merchant_client, project):
    response = merchant_client.post("/members/new/", {"email": "  Bob@Example.COM ", "name": "Bob", "project": project.pk})
    assert response.status_code == 302
    assert Member.objects.get(project=project).email == "bob@example.com"


def test_duplicate_member_any_case_is_a_field_error(merchant_client, member):
    response = merchant_client.post("/members/new/", {"email": "ALICE@example.com", "project": member.project_id})
    assert response.status_code == 400
    assert "already has a member with this email" in str(response.context["form"].errors["email"])
    assert Member.objects.count() == 1


def test_same_email_may_belong_to_two_projects(merchant_client, merchant, member):
    from members.models import Project

    second = Project.objects.create(name="Second")
    second.owners.add(merchant)
    response = merchant_client.post("/members/new/", {"email": "alice@example.com", "project": second.pk})
    assert response.status_code == 302
    assert Member.objects.filter(email="alice@example.com").count() == 2


@pytest.mark.parametrize(
    "email, message",
    [
        ("", "This field is required."),
        ("not-an-email", "Enter a valid email address."),
        ("a@" + "b" * 260 + ".com", "at most 254"),
    ],
)
def test_bad_email_is_a_field_error(merchant_client, project, email, message):
    response = merchant_client.post("/members/new/", {"email": email, "project": project.pk})
    assert response.status_code == 400
    assert message in str(response.context["form"].errors["email"])
    assert not Member.objects.exists()


def test_cannot_add_member_to_another_merchants_project(merchant_client, other_project):
    response = merchant_client.post("/members/new/", {"email": "x@example.com", "project": other_project.pk})
    assert response.status_code == 400
    assert "Choose one of your projects." in str(response.context["form"].errors["project"])
    assert not Member.objects.exists()


def test_htmx_add_member_returns_trigger_to_select_it(merchant_client, project):
    form = merchant_client.get(f"/members/new/?project={project.pk}&email=carol@example.com", HTTP_HX_REQUEST="true")
    body = form.content.decode()
    assert "<html" not in body and 'value="carol@example.com"' in body and "Add New Member" in body

    response = merchant_client.post(
        "/members/new/", {"email": "Carol@example.com", "project": project.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    event = json.loads(response["HX-Trigger"])["memberCreated"]
    assert event == {"email": "carol@example.com", "project": project.pk, "label": "carol@example.com"}


def test_htmx_add_member_error_stays_in_the_modal(merchant_client, member):
    response = merchant_client.post(
        "/members/new/", {"email": "alice@EXAMPLE.com", "project": member.project_id}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200  # htmx only swaps 2xx: the errors replace the modal's form
    assert "HX-Trigger" not in response
    assert "already has a member with this email" in response.content.decode()


def test_no_js_add_member_returns_to_create_link_with_member_filled(merchant_client, project):
    response = merchant_client.post(
        "/members/new/", {"email": "dan@example.com", "project": project.pk, "next": "/payments/new/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/payments/new/?project={project.pk}&member=dan@example.com"
    page = merchant_client.get(response["Location"]).content.decode()
    assert 'value="dan@example.com"' in page


def test_next_to_another_site_is_ignored(merchant_client, project):
    response = merchant_client.post(
        "/members/new/", {"email": "eve@example.com", "project": project.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/members/"


def test_member_list_search_and_edit(merchant_client, member, project):
    Member.objects.create(project=project, email="zed@example.com")
    page = merchant_client.get("/members/?q=ALI").content.decode()
    assert "alice@example.com" in page and "zed@example.com" not in page

    response = merchant_client.post(f"/members/{member.pk}/", {"email": "Alice.New@Example.com", "name": "Alice N"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.email, member.name) == ("alice.new@example.com", "Alice N")

    response = merchant_client.post(f"/members/{member.pk}/", {"email": "ZED@example.com", "name": ""})
    assert response.status_code == 400
    assert "already has a member with this email" in str(response.context["form"].errors["email"])
    member.refresh_from_db()
    assert member.email == "alice.new@example.com"


def test_another_merchants_member_is_not_found(merchant_client, other_project):
    theirs = Member.objects.create(project=other_project, email="secret@example.com")
    assert merchant_client.get(f"/members/{theirs.pk}/").status_code == 404
    assert merchant_client.post(f"/members/{theirs.pk}/", {"email": "taken@example.com"}).status_code == 404
    assert "secret@example.com" not in merchant_client.get("/members/?q=secret").content.decode()
    assert merchant_client.get("/members/999999/").status_code == 404


def test_picker_searches_only_the_chosen_project(merchant_client, project, member, other_project):
    Member.objects.create(project=other_project, email="alina@rival.example")
    body = merchant_client.get(f"/members/search/?project={project.pk}&member=ali").content.decode()
    assert "alice@example.com" in body and "alina@rival.example" not in body
    body = merchant_client.get(f"/members/search/?project={other_project.pk}&member=ali").content.decode()
    assert "alina@rival.example" not in body and "Choose a project first" in body
    body = merchant_client.get(f"/members/search/?project={project.pk}&member=nobody").content.decode()
    assert "No member of Corner Shop matches" in body and "Add New Member" in body


def test_member_name_is_escaped(merchant_client, project):
    Member.objects.create(project=project, email="x@example.com", name="<script>alert(1)</script>")
    body = merchant_client.get("/members/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    body = merchant_client.get(f"/members/search/?project={project.pk}&member=x@").content.decode()
    assert "<script>alert(1)</script>" not in body
