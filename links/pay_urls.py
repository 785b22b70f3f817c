"""Public pay page routes (no login): /pay/<code>/ and its fragments."""

from django.urls import path

from links import brand_views, pay_views, refund_views, share_views

app_name = "pay"
urlpatterns = [
    path("logo/<str:sha256>.png", brand_views.project_logo, name="logo"),  # a project's logo (members.branding)
    path("theme/<str:colour>.css", brand_views.project_theme, name="theme"),  # its brand colour, as a stylesheet
    path("<str:code>/", share_views.pay_entry, name="page"),  # a chat app's crawler gets the preview
    path("<str:code>/preview.png", share_views.link_preview_png, name="preview_png"),
    path("<str:code>/qr.png", share_views.link_qr, {"fmt": "png"}, name="qr_png"),
    path("<str:code>/qr.svg", share_views.link_qr, {"fmt": "svg"}, name="qr_svg"),
    path("<str:code>/status/", pay_views.pay_status, name="status"),
    path("<str:code>/receipt/", pay_views.pay_receipt, name="receipt"),
    path("<str:code>/refund/<str:refund_code>/", refund_views.refund_page, name="refund"),
    path("<str:code>/quote/", pay_views.pay_quote, name="quote"),
    path("<str:code>/simulate/", pay_views.pay_simulate, name="simulate"),
]
