from django.urls import path

from members import api_key_views, team_views, views

app_name = "members"
urlpatterns = [
    path("", views.member_list, name="list"),
    path("new/", views.member_create, name="create"),
    path("search/", views.member_search, name="search"),
    path("<int:pk>/", views.member_edit, name="edit"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<int:pk>/", views.project_edit, name="project_edit"),
    path("projects/<int:pk>/branding/", views.project_branding, name="project_branding"),
    path("projects/<int:pk>/api-keys/", api_key_views.api_keys, name="api_keys"),
    path("projects/<int:pk>/api-keys/<int:key_id>/revoke/", api_key_views.api_key_revoke, name="api_key_revoke"),
    path("projects/<int:pk>/team/", team_views.project_team, name="project_team"),
    path("projects/<int:pk>/team/<int:user_id>/role/", team_views.project_team_role, name="project_team_role"),
    path("projects/<int:pk>/team/<int:user_id>/remove/", team_views.project_team_remove, name="project_team_remove"),
    path(
        "projects/<int:pk>/invitations/<int:invitation_id>/revoke/",
        team_views.project_invitation_revoke,
        name="project_invitation_revoke",
    ),
]
