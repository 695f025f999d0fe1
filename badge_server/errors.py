"""Every error the badge server raises on purpose, in one place.

A message a child may read (a browser on its way to an app) is marked ``N_``: the catalogues
(scripts/translations) translate it where the page shows it.

API errors carry the HTTP status and the machine code of the error body
``{"error": {"code": ..., "message": ...}}`` that DESIGN.md fixes; the kiosk and the
browser scanner choose what to show a child from ``code``.
"""

from __future__ import annotations

from dataclasses import dataclass

from badge_server.contract.words import N_


class BadgeServerError(Exception):
    """Base class of every error the server raises deliberately."""


class ConfigError(BadgeServerError):
    """Raised when settings are missing or unsafe (e.g. no secret key in production)."""


@dataclass(frozen=True)
class RosterProblem:
    """One thing wrong with a roster file, located for the person who must fix it."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class RosterImportError(BadgeServerError):
    """Raised when a roster import has any invalid row; the import then changes nothing."""

    def __init__(self, problems: list[RosterProblem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        counted = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"roster import refused, nothing was changed ({counted}):\n{shown}{more}")


class WriterBusy(BadgeServerError):
    """Raised when a transaction that may not wait (on the event loop) begins while SQLite's writer is taken."""


class NotFoundError(BadgeServerError):
    """Raised when a named school, class, person or badge does not exist."""


class PolicyError(BadgeServerError):
    """Raised when an action breaks badge policy (trivial PIN, temporary code too long, ...)."""


class PrintingError(BadgeServerError):
    """Raised when badges or a set-up sheet cannot be printed: a bad template, an unscannable layout, no file."""


class ApiError(BadgeServerError):
    """Base of errors answered over HTTP with a status and a machine-readable code."""

    status = 400
    code = "bad_request"
    message = N_("The request could not be handled.")

    def __init__(self, message: str | None = None) -> None:
        self.message = message or type(self).message
        # Ids (badge, person) an audit row of this failure should name; never secrets.
        self.audit_ids: dict[str, str | None] = {}
        # What else the audit row should say (why an app's sign-in was refused); never secrets.
        self.audit_detail: dict[str, str] = {}
        super().__init__(self.message)


class MalformedRequest(ApiError):
    """Raised when a request body is missing fields, oversized or of the wrong type."""

    status = 400
    code = "malformed_request"
    message = N_("The request was not understood.")


class NotABadge(ApiError):
    """Raised when QR text is not one of our badge payloads (a poster, an app link)."""

    status = 400
    code = "not_a_badge"
    message = N_("That is not a sign-in badge.")


class DeviceNotAuthorized(ApiError):
    """Raised when a device token is missing, unknown or belongs to a disabled device."""

    status = 401
    code = "device_not_authorized"
    message = N_("This device is not enrolled or has been disabled. Ask IT to enrol it.")


class EnrollCodeNotAccepted(ApiError):
    """Raised when a device enrolment code is unknown, used or expired."""

    status = 403
    code = "enroll_code_not_accepted"
    message = "That enrolment code is not valid (codes are single use and expire)."


class EnrolLinkNotAccepted(ApiError):
    """Raised when a cart enrolment link is unknown, revoked, expired or used up (``reason`` says which)."""

    status = 403
    code = "enrol_link_not_accepted"
    message = "This set-up link does not work. Ask IT for a new one."

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.audit_detail["reason"] = reason


class EnrolLinkRefused(ApiError):
    """Raised when an admin's enrolment link cannot be made or revoked (bad uses, hours, prefix, school or id)."""

    status = 400
    code = "enrol_link_refused"
    message = "That enrolment link cannot be made."

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.audit_detail["reason"] = reason


class BadgeNotAccepted(ApiError):
    """Raised for an unknown, revoked or voided badge; deliberately one answer for all."""

    status = 403
    code = "badge_not_accepted"
    message = N_("This badge does not work. Please ask your teacher.")


class BadgeReplaced(ApiError):
    """Raised when a badge that was replaced by a newer one is shown."""

    status = 409
    code = "badge_replaced"
    message = N_("This badge was replaced. Ask your teacher for your new badge.")


class BadgeExpired(ApiError):
    """Raised when an expired badge or temporary code is shown."""

    status = 410
    code = "badge_expired"
    message = N_("This badge has expired. Ask your teacher for a new one.")


class PinRequired(ApiError):
    """Raised when the badge's policy needs a PIN and none was sent."""

    status = 423
    code = "pin_required"
    message = N_("Type your secret number.")


class PinIncorrect(ApiError):
    """Raised when the PIN sent with a badge is wrong."""

    status = 423
    code = "pin_incorrect"
    message = N_("That number is not right. Try again.")


class LaunchCodeNotAccepted(ApiError):
    """Raised when a launch code is unknown, used, expired or redeemed by another device."""

    status = 403
    code = "launch_code_not_accepted"
    message = N_("That sign-in link has expired. Please scan your badge again.")


class SessionNotValid(ApiError):
    """Raised when a session token is missing, ended, idle too long or past its lifetime."""

    status = 401
    code = "session_not_valid"
    message = N_("You have been signed out. Please scan your badge again.")


class SsoRefused(ApiError):
    """Raised when an app's sign-in request is refused: an unknown or disabled app, a redirect or ACS
    URL it did not register, a bad or replayed request, a student the app cannot be told about."""

    status = 400
    code = "sso_refused"
    message = N_("This app cannot sign you in right now. Please ask your teacher.")

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message)
        # For the audit row and the admin, never shown to the child.
        self.reason = reason
        self.audit_detail["reason"] = reason


class PinTriesUsedUp(ApiError):
    """Raised when a badge has used up its PIN tries for the day (``BADGE_PIN_TRIES_PER_BADGE_PER_DAY``)."""

    status = 429
    code = "pin_tries_used_up"
    message = N_("Too many tries of the secret number today. Ask your teacher.")


class HomeSignInOff(ApiError):
    """Raised when a badge is scanned at home where its district or school does not allow it."""

    status = 403
    code = "home_sign_in_off"
    message = N_("Badges don't work at home here. Use your password, or ask your teacher.")


class PinNotSet(ApiError):
    """Raised when the home policy asks for a PIN and the student has none set yet."""

    status = 403
    code = "pin_not_set"
    message = N_("Ask your teacher for your secret number.")


class PasswordNotAccepted(ApiError):
    """Raised when a username and password do not match an active student (never says which)."""

    status = 401
    code = "password_not_accepted"
    message = N_("That's not right. Try again.")


class RateLimited(ApiError):
    """Raised when a badge, address or device makes too many attempts; carries Retry-After."""

    status = 429
    code = "rate_limited"
    message = N_("Too many tries. Please wait a moment.")

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class DatabaseUnavailable(ApiError):
    """Raised when the database cannot be reached; answered as 503 so clients retry."""

    status = 503
    code = "database_unavailable"
    message = N_("The sign-in server is busy. Trying again...")


class InternalError(ApiError):
    """Answered for an error no code path expected (a bug): the error format, never a traceback."""

    status = 500
    code = "internal_error"
    message = N_("Something went wrong on the server. Try again; if it keeps happening, tell IT.")


class ServerBusy(ApiError):
    """Raised (answered) when a server process already has its limit of requests in progress."""

    status = 503
    code = "server_busy"
    message = N_("The server is busy. Try again in a moment.")
    retry_after = 2


class StaffSignInNeeded(BadgeServerError):
    """Raised when a console page is asked for without a signed-in staff session (redirects to sign-in)."""

    def __init__(self, location: str = "/staff/login") -> None:
        self.location = location
        super().__init__(location)


class StaffForbidden(ApiError):
    """Raised when a staff member asks for a class or school outside what their role may see."""

    status = 404
    code = "not_found"
    message = "There is no such page."  # 404, not 403: do not confirm that another class exists


class CsrfRejected(ApiError):
    """Raised when a console form arrives without the session's CSRF token."""

    status = 403
    code = "csrf_rejected"
    message = "This form has expired. Go back, reload the page and try again."


class UploadRefused(BadgeServerError):
    """Raised when an uploaded file (a roster, an app icon) is the wrong kind or too large."""


class InvitationNotAccepted(BadgeServerError):
    """Raised when a staff invitation link is unknown, used, expired or its account disabled."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class StaffSsoRefused(BadgeServerError):
    """Raised when a staff sign-in through the district's identity provider is refused (answer, email, account)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class DropRefused(BadgeServerError):
    """Raised when a roster export left in the drop folder was refused; it is filed with its problems."""


class SsoRegistrationRefused(BadgeServerError):
    """Raised when an app's SSO registration is refused: a redirect URI that is not absolute https
    (or http to loopback), an unknown scope or catalog app, an unknown client to disable."""
