"""Staff sign-in with the district's Google or Microsoft account (badge_server/staff_oidc.py).

"Sign in with Google" leaves for the provider with a sealed, short-lived cookie holding the state,
nonce and PKCE verifier; the provider sends the browser back here with a code, which the server
redeems itself. The email the provider vouches for opens the matching staff account
(staff_matching.py); the district's second factor counts where BADGE_STAFF_OIDC_TRUSTS_MFA says so,
else the console's own TOTP step follows as after a password.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from badge_server import audit
from badge_server import staff as staff_accounts
from badge_server.errors import StaffSsoRefused
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.runtime import Runtime
from badge_server.staff_matching import account_for_email
from badge_server.staff_oidc import PENDING_SECONDS, DistrictIdentityProvider, PendingStaffSignIn
from badge_server.staff_sign_in import AUDIT_KIND
from badge_server.web.console.sign_in import login_page, next_step, set_session_cookie
from badge_server.web.deps import ClientIP, RuntimeDep, SessionDep
from badge_server.web.sso_pages import issuer_of
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/login/district")
PENDING_COOKIE = "staff_district_sign_in"
RETURN_PATH = "/staff/login/district/return"
Answer = Annotated[str, Query(max_length=4096)]


def _provider(runtime: Runtime) -> DistrictIdentityProvider:
    if runtime.staff_identity_provider is None:
        raise HTTPException(404, "staff sign-in with the district's account is not set up (BADGE_STAFF_OIDC_ISSUER)")
    return runtime.staff_identity_provider


@router.get("")
def leave_for_provider(request: Request, runtime: RuntimeDep) -> Response:
    provider = _provider(runtime)
    try:
        url, pending = provider.start(f"{issuer_of(request, runtime)}{RETURN_PATH}")
    except StaffSsoRefused as exc:
        return _refused(request, runtime, str(exc), status=502)
    response = RedirectResponse(url, status_code=303)
    # Lax, not Strict: the provider's redirect back is a cross-site navigation, and the cookie
    # must come with it. It holds nothing that signs anyone in; only this browser's state.
    response.set_cookie(
        PENDING_COOKIE,
        pending.seal(runtime.keys),
        httponly=True,
        samesite="lax",
        path=router.prefix,
        secure=request.url.scheme == "https",
        max_age=PENDING_SECONDS,
    )
    return response


@router.get("/return")
def back_from_provider(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
    state: Answer = "",
    code: Answer = "",
    error: Answer = "",
) -> Response:
    provider = _provider(runtime)
    # Each answer costs a request to the provider: counted with the password tries of this address.
    enforce_limits(
        runtime.factory,
        [Limit(f"staff-login-address:{ip}", runtime.settings.rate_staff_login_per_address_per_minute)],
    )
    email = ""
    try:
        if error:  # e.g. access_denied: the person cancelled, or the provider's policy said no
            raise StaffSsoRefused("provider", f"{provider.label} did not sign you in ({error[:80]}).")
        pending = PendingStaffSignIn.unseal(runtime.keys, request.cookies.get(PENDING_COOKIE, ""), state)
        # The request's own transaction is first touched once the provider's answer checked out.
        identity = provider.finish(pending, code)
        email = identity.email
        user = account_for_email(db, email, actor=f"{email} via {provider.label}")
    except StaffSsoRefused as exc:
        # In the request's own transaction (the look-up may have begun it), which writes nothing else.
        audit.record(db, AUDIT_KIND, "refused", source_ip=ip, username=email, step=f"district:{exc.reason}")
        return _refused(request, runtime, str(exc), status=403)
    started = staff_accounts.start_session(
        db,
        user,
        source_ip=ip,
        teachers_need_mfa=runtime.settings.teacher_mfa_required,
        step="district",
        second_factor_done=identity.second_factor_done,
    )
    # A page, not a redirect: the session cookie is SameSite=Strict, and a browser does not send it
    # on a redirect that a cross-site page (the provider's) started; a same-site step does.
    page = render_page(request, "signing_in.html", target=next_step(started), label=provider.label)
    set_session_cookie(request, page, started)
    page.delete_cookie(PENDING_COOKIE, path=router.prefix)
    return page


def _refused(request: Request, runtime: Runtime, message: str, *, status: int) -> HTMLResponse:
    page = login_page(request, runtime, error=message, status=status)
    page.delete_cookie(PENDING_COOKIE, path=router.prefix)
    return page
