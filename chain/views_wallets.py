"""The Wallets page: per project and chain family, the extended public key, the first
receive addresses to compare with the merchant's wallet, the unused-address gap, the
keys it replaced (retired, still watched), and the project's confirmation thresholds.
Thin views: parse, call one service, render or redirect.

Replacing a key that has handed out addresses takes two POSTs: the first validates the
new key and shows its first addresses with what the replacement does; the second
(`confirm`, naming the wallet being replaced) retires the old key.

A pasted value that was refused (it may be a private key or a seed phrase) is never
rendered back, logged, or kept in an error report: the POST parameter is marked
sensitive and the form's input is always rendered empty."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from chain import catalogue, hd, wallets
from chain.forms import ConfirmationsForm, WalletKeyForm
from chain.models import Wallet
from members.models import Project
from members.permissions import project_for


@dataclass
class RetiredKey:
    wallet: Wallet

    @property
    def short_xpub(self) -> str:
        return hd.shorten(self.wallet.xpub)

    @property
    def script_label(self) -> str:
        return hd.SCRIPT_TYPE_LABELS.get(self.wallet.script_type, self.wallet.script_type)

    @property
    def issued(self) -> int:
        return self.wallet.next_index


@dataclass
class FamilyPanel:
    family: str
    label: str
    wallet: Wallet | None  # the active key
    form: WalletKeyForm
    preview: list[str]
    gap: int
    allocated: int
    problem: str = ""  # the stored key cannot derive addresses (e.g. edited by hand)
    retired: list[RetiredKey] = field(default_factory=list)  # newest first
    replacement: wallets.Replacement | None = None  # a checked new key awaiting confirmation

    @property
    def in_use(self) -> bool:
        """The active key has handed out addresses: replacing it retires it (with a confirmation)."""
        return self.allocated > 0

    @property
    def replacement_short_xpub(self) -> str:
        return hd.shorten(self.replacement.xpub) if self.replacement else ""

    @property
    def replacement_script_label(self) -> str:
        return hd.SCRIPT_TYPE_LABELS.get(self.replacement.script_type, self.replacement.script_type) if self.replacement else ""

    @property
    def gap_warning(self) -> bool:
        return self.gap > wallets.GAP_LIMIT

    @property
    def short_xpub(self) -> str:
        return hd.shorten(self.wallet.xpub) if self.wallet else ""

    @property
    def script_label(self) -> str:
        return hd.SCRIPT_TYPE_LABELS.get(self.wallet.script_type, self.wallet.script_type) if self.wallet else ""

    @property
    def anchor(self) -> str:
        return f"wallet-{self.wallet.project_id if self.wallet else ''}-{self.family}"


@dataclass
class ProjectPanel:
    project: Project
    families: list[FamilyPanel]
    confirmations: ConfirmationsForm


def _owned_projects(request: HttpRequest):
    return Project.objects.filter(owners=request.user).order_by("name", "id")


def _owned_project(request: HttpRequest, project_id: int) -> Project:
    """404 if the user is not on the project's team, 403 if they are but not an owner."""
    return project_for(request.user, project_id, "wallets")


def _families() -> list[str]:
    """Mainnet families first: they are what a merchant sets up for real payments."""
    mainnet = [f for f in catalogue.FAMILIES if not hd.family_params(f).testnet]
    return mainnet + [f for f in catalogue.FAMILIES if f not in mainnet]


def _family_panel(
    project: Project,
    family: str,
    wallet: Wallet | None,
    form: WalletKeyForm | None = None,
    *,
    retired: list[Wallet] = (),
    replacement: wallets.Replacement | None = None,
) -> FamilyPanel:
    preview: list[str] = []
    gap = allocated = 0
    problem = ""
    if wallet is not None:
        try:
            preview = wallets.addresses_preview(wallet, 3)
        except hd.KeyRefused as exc:
            problem = exc.message if hasattr(exc, "message") else str(exc)
        gap = wallets.unused_gap(project, family, wallet=wallet)
        allocated = wallet.next_index
    return FamilyPanel(
        family=family,
        label=catalogue.FAMILIES[family],
        wallet=wallet,
        form=form or WalletKeyForm(family=family, auto_id=f"id_{project.pk}_{family}_%s"),
        preview=preview,
        gap=gap,
        allocated=allocated,
        problem=problem,
        retired=[RetiredKey(w) for w in retired],
        replacement=replacement,
    )


def _project_panel(
    project: Project,
    *,
    key_form: tuple[str, WalletKeyForm] | None = None,
    confirmations: ConfirmationsForm | None = None,
    replacement: tuple[str, wallets.Replacement] | None = None,
) -> ProjectPanel:
    active: dict[str, Wallet] = {}
    retired: dict[str, list[Wallet]] = {}
    for w in Wallet.objects.filter(project=project).order_by("-retired_at", "-id"):
        if w.retired_at is None:
            active[w.family] = w
        else:
            retired.setdefault(w.family, []).append(w)
    families = []
    for family in _families():
        form = key_form[1] if key_form and key_form[0] == family else None
        pending = replacement[1] if replacement and replacement[0] == family else None
        families.append(
            _family_panel(project, family, active.get(family), form, retired=retired.get(family, []), replacement=pending)
        )
    return ProjectPanel(
        project=project,
        families=families,
        confirmations=confirmations
        or ConfirmationsForm(
            networks=wallets.confirmation_networks(),
            current=project.confirmation_overrides or {},
            auto_id=f"id_{project.pk}_conf_%s",
        ),
    )


def _render(request: HttpRequest, panels: list[ProjectPanel], *, status: int = 200) -> HttpResponse:
    context = {
        "panels": panels,
        "gap_limit": wallets.GAP_LIMIT,
        "gap_warning": wallets.GAP_WARNING,
        "open_confirmations": request.GET.get("open") == "confirmations",
    }
    return render(request, "chain/wallets.html", context, status=status)


def _page_url(project: Project, anchor: str, *, extra: str = "") -> str:
    return f"{reverse('chain:wallets')}?project={project.pk}{extra}#{anchor}"


@login_required
@require_GET
def wallet_list(request: HttpRequest) -> HttpResponse:
    projects = _owned_projects(request)
    selected = request.GET.get("project", "")
    if selected:
        if not selected.isdigit():
            raise Http404("No such project")
        projects = [_owned_project(request, int(selected))]
    return _render(request, [_project_panel(p) for p in projects])


@sensitive_variables()  # every frame below: a refused paste may be a private key
@sensitive_post_parameters("xpub")
@login_required
@require_POST
def wallet_key_set(request: HttpRequest, project_id: int, family: str) -> HttpResponse:
    project = _owned_project(request, project_id)
    if family not in catalogue.FAMILIES:
        raise Http404("No such chain family")
    form = WalletKeyForm(request.POST, family=family, auto_id=f"id_{project.pk}_{family}_%s")
    if form.is_valid():
        try:
            wallets.wallet_set(
                project=project,
                family=family,
                xpub=form.cleaned_data["xpub"],
                script_type=form.cleaned_data.get("script_type") or None,
                by=request.user,
            )
        except wallets.KeyInUse:
            return _replacement_step(request, project, family, form)  # the key is in use: confirm first
        except wallets.WalletError as exc:
            form.add_error("xpub", exc.message)
        else:
            messages.success(
                request,
                f"{catalogue.FAMILIES[family]} key saved for {project.name}. "
                "Check that your wallet shows the same first 3 addresses.",
            )
            return redirect(_page_url(project, f"wallet-{project.pk}-{family}"))
    return _render(request, [_project_panel(project, key_form=(family, form))], status=400)


def _replacement_step(request: HttpRequest, project: Project, family: str, form: WalletKeyForm) -> HttpResponse:
    """Check a valid form's key as a replacement and show what replacing does, with the
    new key's first addresses and a button that confirms it. Nothing is stored."""
    try:
        replacement = wallets.wallet_replace_check(
            project=project,
            family=family,
            xpub=form.cleaned_data["xpub"],
            script_type=form.cleaned_data.get("script_type") or None,
        )
    except wallets.WalletError as exc:
        form.add_error("xpub", exc.message)
        return _render(request, [_project_panel(project, key_form=(family, form))], status=400)
    return _render(request, [_project_panel(project, replacement=(family, replacement))])


@sensitive_variables()  # every frame below: a refused paste may be a private key
@sensitive_post_parameters("xpub")
@login_required
@require_POST
def wallet_key_replace(request: HttpRequest, project_id: int, family: str) -> HttpResponse:
    """Replace the key of a family that has handed out addresses. Without `confirm`: check
    the new key and ask. With `confirm` and `current` (the wallet the merchant saw being
    replaced): retire it and make the new key active."""
    project = _owned_project(request, project_id)
    if family not in catalogue.FAMILIES:
        raise Http404("No such chain family")
    form = WalletKeyForm(request.POST, family=family, auto_id=f"id_{project.pk}_{family}_%s")
    if form.is_valid():
        current = request.POST.get("current", "")
        if request.POST.get("confirm") != "yes" or not current.isdigit():
            return _replacement_step(request, project, family, form)
        try:
            wallets.wallet_replace(
                project=project,
                family=family,
                xpub=form.cleaned_data["xpub"],
                script_type=form.cleaned_data.get("script_type") or None,
                current=int(current),
                by=request.user,
            )
        except wallets.WalletError as exc:
            form.add_error("xpub", exc.message)
        else:
            messages.success(
                request,
                f"{catalogue.FAMILIES[family]} key replaced for {project.name}. New payments use the new key from "
                "address #0: check that your wallet shows the same first 3 addresses. The old key is retired and "
                "its addresses are still watched.",
            )
            return redirect(_page_url(project, f"wallet-{project.pk}-{family}"))
    return _render(request, [_project_panel(project, key_form=(family, form))], status=400)


@login_required
@require_POST
def wallet_confirmations_set(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _owned_project(request, project_id)
    form = ConfirmationsForm(
        request.POST,
        networks=wallets.confirmation_networks(),
        current=project.confirmation_overrides or {},
        auto_id=f"id_{project.pk}_conf_%s",
    )
    if form.is_valid():
        try:
            wallets.project_confirmations_set(project=project, thresholds=form.thresholds())
        except wallets.WalletError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Confirmation thresholds saved for {project.name}.")
            return redirect(_page_url(project, f"confirmations-{project.pk}", extra="&open=confirmations"))
    return _render(request, [_project_panel(project, confirmations=form)], status=400)
