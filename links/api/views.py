"""The REST API, /api/v1/: JSON in and out, for merchants' shops, bots and CRMs.

One project per key: `Authorization: Bearer <key>` (members.services.api_key_authenticate).
No session, no cookies, so no CSRF. Validation is the dashboard's own
(links.forms.PaymentLinkFields, members.forms.MemberForm) and writes go through the same
services, so an API link and a dashboard link cannot differ. Another project's link
answers 404, exactly like one that does not exist. Answers are links.shape's dumps (the
shapes webhooks and the CSV share); links.api.schema's document is generated from the
same shapes, and tests/api check every answer against it. Why no API library:
docs/api.md."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import wraps

from django import forms
from django.core import signing
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from links import resolution, services, shape
from links.api.schema import OPENAPI
from links.forms import PaymentLinkFields
from links.models import LinkStatus, PaymentLink
from links.status import show_link_state
from members import services as member_services
from members.forms import MemberForm
from members.models import Member, Project
from members.selectors import member_by_email
from payram.lib.jsonguard import json_too_deep

log = logging.getLogger(__name__)

NON_FIELD = "non_field_errors"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class ApiError(Exception):
    def __init__(self, status: int, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.status = status
        self.errors = errors


def _errors(status: int, errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


def _form_errors(form: forms.Form, rename: dict[str, str] | None = None) -> dict[str, list[str]]:
    rename = {"__all__": NON_FIELD, **(rename or {})}
    return {rename.get(field, field): [str(m) for m in messages] for field, messages in form.errors.items()}


def _validation_errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {NON_FIELD if k == "__all__" else k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {NON_FIELD: [str(m) for m in exc.messages]}


def _bearer_key(request: HttpRequest) -> str:
    scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _unauthorized(message: str) -> JsonResponse:
    response = _errors(401, {"authorization": [message]})
    response["WWW-Authenticate"] = 'Bearer realm="payram"'
    return response


def api_view(*methods: str) -> Callable:
    """JSON endpoint: these methods only (405 otherwise), a valid key (401 otherwise),
    CSRF-exempt because no cookie authenticates here. The view gets the key's project."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method not in methods:
                response = _errors(405, {NON_FIELD: [f"Use {' or '.join(methods)} here."]})
                response["Allow"] = ", ".join(methods)
                return response
            key = _bearer_key(request)
            if not key:
                return _unauthorized("Send your API key as the header “Authorization: Bearer <key>”.")
            api_key = member_services.api_key_authenticate(key)
            if api_key is None:
                return _unauthorized("This API key is not valid or has been revoked.")
            request.api_key = api_key  # who did it, for audit records (a settlement by key)
            try:
                return view(request, api_key.project, *args, **kwargs)
            except ApiError as exc:
                return _errors(exc.status, exc.errors)
            except Exception:  # a bug: still JSON for the client, and logged in full for us
                log.exception("API %s %s failed", request.method, request.path)
                return _errors(500, {NON_FIELD: ["Something went wrong on our side; nothing was changed."]})

        return wrapper

    return decorate


def _json_decimal(text: str) -> Decimal | str:
    """A JSON number as Decimal; one written with an exponent (1e9) stays its text, which
    the amount field refuses as the form refuses it typed."""
    return text if "e" in text.lower() else Decimal(text)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


MAX_JSON_DEPTH = 32  # our bodies are flat objects; deeper nesting is refused before parsing (jsonguard)


def _json_body(request: HttpRequest) -> dict:
    """The request body as a dict; JSON numbers become Decimal (never float)."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ApiError(413, {NON_FIELD: ["The body is too large."]}) from None
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
        if json_too_deep(text, MAX_JSON_DEPTH):
            raise ApiError(400, {NON_FIELD: [f"The body nests deeper than {MAX_JSON_DEPTH} levels."]})
        data = json.loads(text, parse_float=_json_decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, {NON_FIELD: ["The body is not valid JSON."]}) from None
    if not isinstance(data, dict):
        raise ApiError(400, {NON_FIELD: ['Send a JSON object, such as {"amount": "19.99"}.']})
    return data


def _form_data(body: dict, *, text: tuple[str, ...], numbers: tuple[str, ...] = ()) -> dict:
    """The body's fields as a form sees them. A field of the wrong JSON type is an error
    of its own: a form would otherwise read 12 as the text "12", or a list as its repr."""
    errors: dict[str, list[str]] = {}
    data: dict = {}
    for name in text:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = ["Enter text (a JSON string)."]
        data[name] = value
    for name in numbers:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            errors[name] = ["Enter a number or a decimal string."]
        data[name] = value
    if errors:
        raise ApiError(400, errors)
    return data


# Serialisation: links.shape


def _member(member: Member) -> dict:
    return shape.MEMBER.dump(member)


def _link_summary(link: PaymentLink) -> dict:
    return shape.link_summary(link)


def _link_full(link: PaymentLink) -> dict:
    state = show_link_state(link)  # derived as of now (an expiry may have passed); never saved
    return shape.link_full(link, state)


def _project_link(project: Project, code: str) -> PaymentLink:
    """The project's link with this code; another project's is not found, like no link at all."""
    link = None
    if _CODE_SHAPE.match(code):
        link = PaymentLink.objects.select_related("project", "member").filter(project=project, code=code).first()
    if link is None:
        raise ApiError(404, {"code": ["No payment link with this code."]})
    return link


# Forms: the dashboard's rules, with the member named by email and added if new.


class ApiLinkForm(PaymentLinkFields):
    member_email = copy.deepcopy(MemberForm.base_fields["email"])
    member_name = copy.deepcopy(MemberForm.base_fields["name"])

    def clean_member_email(self) -> str:
        return self.cleaned_data["member_email"].strip().lower()


def _member_for_link(project: Project, email: str, name: str) -> Member:
    member = member_by_email(project, email)
    if member is not None:
        return member
    try:
        return member_services.member_create(project=project, email=email, name=name)
    except ValidationError:  # another request added them meanwhile
        member = member_by_email(project, email)
        if member is None:
            raise
        return member


# Views


@api_view("POST")
def members_view(request: HttpRequest, project: Project) -> JsonResponse:
    data = _form_data(_json_body(request), text=("email", "name"))
    form = MemberForm({**data, "project": project.pk}, projects=Project.objects.filter(pk=project.pk))
    if not form.is_valid():
        return _errors(400, _form_errors(form))
    try:
        member = member_services.member_create(project=project, email=form.cleaned_data["email"], name=form.cleaned_data["name"])
    except ValidationError as exc:
        return _errors(400, _validation_errors(exc))
    return JsonResponse(_member(member), status=201)


@api_view("GET", "POST")
def links_view(request: HttpRequest, project: Project) -> JsonResponse:
    if request.method == "POST":
        return _link_create(request, project)
    return _link_list(request, project)


def _link_create(request: HttpRequest, project: Project) -> JsonResponse:
    data = _form_data(
        _json_body(request),
        text=("member_email", "member_name", "currency", "description", "expires_at"),
        numbers=("amount",),
    )
    data.setdefault("currency", "USD")
    form = ApiLinkForm(data)
    if not form.is_valid():
        return _errors(400, _form_errors(form))
    cleaned = form.cleaned_data
    try:
        with transaction.atomic():  # a new member and their link, or neither
            member = _member_for_link(project, cleaned["member_email"], cleaned["member_name"])
            link = services.link_create(
                project=project,
                member=member,
                amount=cleaned["amount"],
                currency=cleaned["currency"],
                description=cleaned["description"],
                expires_at=cleaned["expires_at"],
                created_by_api_key=getattr(request, "api_key", None),
            )
    except ValidationError as exc:
        return _errors(400, _validation_errors(exc))
    return JsonResponse(_link_full(link), status=201)


_CURSOR_INVALID = "This cursor is not valid: pass next_cursor from the previous page."


def _cursor_signer(project: Project) -> signing.Signer:
    # Salted per project: one project's cursor is no use to another's key.
    return signing.Signer(salt=f"payram.api.links-cursor.{project.pk}", sep=".")


def _encode_cursor(project: Project, link: PaymentLink) -> str:
    """An opaque, signed token for "the links older than this one"."""
    created = link.created_at.astimezone(UTC).isoformat()
    payload = base64.urlsafe_b64encode(json.dumps([created, link.pk]).encode()).decode().rstrip("=")
    return _cursor_signer(project).sign(payload)


def _decode_cursor(project: Project, cursor: str) -> tuple[datetime, int]:
    """Only a cursor this server signed for this project is read; anything else is a 400
    before any query, so no client-made value reaches the database."""
    try:
        payload = _cursor_signer(project).unsign(cursor)
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        created, pk = json.loads(raw.decode())
        when = parse_datetime(created)
        if when is None or when.tzinfo is None or not isinstance(pk, int) or isinstance(pk, bool) or pk < 1:
            raise ValueError
        return when.astimezone(UTC), pk
    except (signing.BadSignature, binascii.Error, UnicodeError, ValueError, TypeError, RecursionError, OverflowError):
        raise ApiError(400, {"cursor": [_CURSOR_INVALID]}) from None


def _link_list(request: HttpRequest, project: Project) -> JsonResponse:
    params = request.GET
    errors: dict[str, list[str]] = {}
    links = PaymentLink.objects.filter(project=project).select_related("member", "settlement").prefetch_related("refunds")

    status = params.get("status", "")
    if status:
        if status in LinkStatus.values:
            links = links.filter(status=status)
        else:
            errors["status"] = [f"Choose one of {', '.join(LinkStatus.values)}."]
    member_email = params.get("member_email", "").strip()
    if member_email:
        if "\x00" in member_email or len(member_email) > 254:
            errors["member_email"] = ["Enter a valid email address."]
        else:
            links = links.filter(member__email__iexact=member_email)
    raw_limit = params.get("limit", "")
    limit = DEFAULT_LIMIT
    if raw_limit:
        if raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_LIMIT:
            limit = int(raw_limit)
        else:
            errors["limit"] = [f"Enter a whole number from 1 to {MAX_LIMIT}."]
    cursor = params.get("cursor", "")
    if cursor:
        try:
            created, pk = _decode_cursor(project, cursor)
        except ApiError as exc:
            errors.update(exc.errors)
        else:
            links = links.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk))
    if errors:
        return _errors(400, errors)

    page = list(links.order_by("-created_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return JsonResponse(
        {
            "data": [_link_summary(link) for link in page],
            "next_cursor": _encode_cursor(project, page[-1]) if more else None,
        }
    )


@api_view("GET")
def link_view(request: HttpRequest, project: Project, code: str) -> JsonResponse:
    return JsonResponse(_link_full(_project_link(project, code)))


@api_view("POST")
def link_cancel_view(request: HttpRequest, project: Project, code: str) -> JsonResponse:
    link = _project_link(project, code)
    try:
        link = services.link_cancel(link=link)
    except services.LinkNotCancellable as exc:
        return _errors(409, {"status": [str(exc)]})
    return JsonResponse(_link_full(link))


@api_view("POST")
def link_settle_view(request: HttpRequest, project: Project, code: str) -> JsonResponse:
    link = _project_link(project, code)
    data = _form_data(_json_body(request), text=("note",))
    key = getattr(request, "api_key", None)
    try:
        resolution.link_settle(link=link, note=data.get("note", ""), by_name=f"API key {key.name}" if key else "API")
    except resolution.ResolutionRefused as exc:
        message = str(exc)
        status = 400 if "note" in message.lower() else 409
        return _errors(status, {"note" if status == 400 else "status": [message]})
    return JsonResponse(_link_full(link))


@csrf_exempt
def openapi_view(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        response = _errors(405, {NON_FIELD: ["Use GET here."]})
        response["Allow"] = "GET, HEAD"
        return response
    return JsonResponse(OPENAPI)
