from django.urls import path

from members import views

app_name = "members"
urlpatterns = [
    path("", views.member_list, name="list"),
    path("new/", views.member_create, name="create"),
    path("search/", views.member_search, name="search"),
    path("<int:pk>/", views.member_edit, name="edit"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<int:pk>/", views.project_edit, name="project_edit"),
]
