"""Public pay page routes (no login): /pay/<code>/ and its fragments."""

from django.urls import path

from links import pay_views, refund_views

app_name = "pay"
urlpatterns = [
    path("<str:code>/", pay_views.pay_page, name="page"),
    path("<str:code>/status/", pay_views.pay_status, name="status"),
    path("<str:code>/receipt/", pay_views.pay_receipt, name="receipt"),
    path("<str:code>/refund/<str:refund_code>/", refund_views.refund_page, name="refund"),
    path("<str:code>/quote/", pay_views.pay_quote, name="quote"),
    path("<str:code>/simulate/", pay_views.pay_simulate, name="simulate"),
]
