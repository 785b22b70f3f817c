from django.urls import path

from links import overview_views, views

app_name = "links"
urlpatterns = [
    path("", overview_views.overview_page, name="home"),  # the dashboard home: the Overview
    path("payments/", views.all_payments, name="all_payments"),
    path("payments/export.csv", views.export_csv, name="export_csv"),
    path("payments/new/", views.link_create, name="create"),
    path("payments/<str:code>/", views.link_detail, name="detail"),
    path("payments/<str:code>/qr.png", views.link_qr_png, name="qr_png"),
    path("payments/<str:code>/cancel/", views.link_cancel, name="cancel"),
    path("payments/<str:code>/settle/", views.link_settle, name="settle"),
    path("payments/<str:code>/refund/", views.link_refund, name="refund"),
]
