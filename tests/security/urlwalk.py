"""Every URL pattern of the site, classified, with its path arguments filled from merchant
A's real objects. A pattern nobody classified fails the tests that use this: a new page
is covered the moment it is added, or someone has to say why it is public."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# url names (namespace:name) reachable without signing in, on purpose.
PUBLIC = {
    "healthz",
    "login",
    "admin_login",
    "logout",
    "invite",  # a team invitation: only its 256-bit token opens it (rate limited per address)
}
PUBLIC_NAMESPACES = {"pay"}  # the customer's pay page: only a 128-bit code opens it
ADMIN_NAMESPACES = {"admin"}  # staff only; Django's admin checks that itself
# Merchant pages: every one needs a signed-in owner.
DASHBOARD = {"password_change", "password_change_done"}
DASHBOARD_NAMESPACES = {"links", "members", "chain", "webhooks", "emails"}
# The REST API: a project's bearer key, never the session cookie.
API_NAMESPACES = {"api"}
API_PUBLIC = {"api:openapi"}


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    params: tuple[str, ...]
    kind: str  # public | admin | api | dashboard | unclassified

    def url(self, world) -> str:
        return reverse(self.name, kwargs={p: fill(self.name, p, world) for p in self.params})


def _walk(patterns, namespace: str = "", params: tuple[str, ...] = ()):
    for p in patterns:
        here = params + tuple(p.pattern.converters)
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            yield from _walk(p.url_patterns, f"{namespace}:{ns}".strip(":") if ns else namespace, here)
        elif isinstance(p, URLPattern):
            yield p, namespace, here


def _kind(namespace: str, name: str) -> str:
    full = f"{namespace}:{name}".strip(":")
    top = namespace.split(":")[0] if namespace else ""
    if top in ADMIN_NAMESPACES:
        return "admin"
    if full in API_PUBLIC:
        return "public"
    if top in API_NAMESPACES:
        return "api"
    if top in PUBLIC_NAMESPACES or full in PUBLIC:
        return "public"
    if top in DASHBOARD_NAMESPACES or full in DASHBOARD:
        return "dashboard"
    return "unclassified"


def routes() -> list[Route]:
    found: dict[str, Route] = {}
    for pattern, namespace, params in _walk(get_resolver().url_patterns):
        name = f"{namespace}:{pattern.name}".strip(":") if pattern.name else f"{namespace}:<unnamed {pattern.pattern}>"
        found.setdefault(name, Route(name, params, _kind(namespace, pattern.name or "")))
    return list(found.values())


def fill(route_name: str, param: str, world):
    """A path argument that opens merchant A's object. Say here how to fill a new one."""
    from chain import catalogue

    extra = getattr(world, "extra_args", {})
    if (route_name, param) in extra:
        return extra[(route_name, param)]
    if param == "code":
        return world.link_a.code
    if param == "project_id" or (param == "pk" and "project" in route_name) or (param == "pk" and "api_key" in route_name):
        return world.project_a.pk
    if param == "pk" and route_name == "members:edit":
        return world.member_a.pk
    if param == "uidb64":
        from django.utils.encoding import force_bytes
        from django.utils.http import urlsafe_base64_encode

        return urlsafe_base64_encode(force_bytes(world.merchant_a.pk))
    if param == "token":
        return getattr(world, "invite_token", "set-password")
    if param == "sha256":  # a project's logo (members.branding): its hash, merchant A's or none yet
        from members.models import ProjectLogo

        logo = ProjectLogo.objects.filter(project=world.project_a).first()
        return logo.sha256 if logo else "0" * 64
    if param == "colour":  # a brand colour's stylesheet: the colour itself, nobody's secret
        return "1a7f37"
    if param == "family":
        return next(iter(catalogue.FAMILIES))
    raise LookupError(f"{route_name}: tests/security/urlwalk.fill does not know how to fill <{param}> with merchant A's object")
