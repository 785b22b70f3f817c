from django.contrib import admin

from members.models import Member, Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "return_url", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["owners"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "project", "created_at"]
    list_filter = ["project"]
    search_fields = ["email", "name"]
    list_select_related = ["project"]
