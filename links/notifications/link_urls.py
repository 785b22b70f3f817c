"""The link page's email log action, beside the link's own dashboard URLs."""

from django.urls import path

from links.notifications import views

app_name = "emails"
urlpatterns = [
    path("payments/<str:code>/emails/<int:email_id>/resend/", views.email_resend, name="resend"),
]
