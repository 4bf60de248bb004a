"""The local issuer's hosted UI: what Cognito's Managed Login does for a browser app.

- ``GET /oauth2/authorize``: authorization code flow with PKCE (S256 only) for clients that list
  the exact ``redirect_uri`` among their callback URLs; shows a sign-in page (``/login``) unless
  the browser already has a hosted-UI session (a cookie on the issuer's origin, like Cognito's);
- the token endpoint's grants and ``/oauth2/revoke`` are the base class's (oauth_grants.py:
  single-use codes, refresh-token rotation with family revocation on reuse, as Cognito does);
- ``GET /logout`` ends the hosted-UI session and returns to a registered sign-out URL;
- with self sign-up on (``IssuerConfig.self_sign_up``, the prerequisites' ``SelfSignUp``): a
  sign-up page (``/signup``, e-mail and password) whose domain rule is the PreSignUp trigger's own
  code (scripts/localdev/signup_policy.py runs app/PreSignUp/handler.py), refusing with Cognito's
  words; the new account can sign in at once (Cognito first e-mails a code to confirm it).

State (codes, refresh tokens, sessions) is in memory and bounded; restarting the issuer signs
everybody out, as it should for a development stand-in.
"""

from __future__ import annotations

import html
import secrets
import time
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from scripts.localdev.oauth_grants import (
    OAuthGrants,
    _Bounded,
    _Grant,
)
from scripts.localdev.pool import Client, TokenMinter

SESSION_COOKIE = "local-hosted-ui-session"
CSRF_COOKIE = "local-hosted-ui-csrf"
SESSION_LIFETIME_SECONDS = 3600  # Cognito's hosted-UI session cookie lasts an hour
MAX_SIGNED_UP_USERS = 10_000  # accounts made on the sign-up page; more are refused, memory stays bounded
MIN_PASSWORD_LENGTH = 12  # the prerequisites pool's PasswordPolicy.MinimumLength
AUTHORIZE_PARAMS = (
    "response_type", "client_id", "redirect_uri", "state", "scope",
    "code_challenge", "code_challenge_method", "nonce",
)  # fmt: skip


class HostedUI(OAuthGrants):
    """Sign-in and sign-up pages, sessions and sign-out of one local issuer (grants: the base)."""

    def __init__(self, issuer: TokenMinter) -> None:
        super().__init__(issuer)
        self.sessions: _Bounded = _Bounded()

    # -- /oauth2/authorize and /login ----------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        """GET /oauth2/authorize: check the request, then the sign-in page (or a code)."""
        params = {k: request.query_params.get(k, "") for k in AUTHORIZE_PARAMS}
        client, problem = self._check_authorize(params)
        if client is None:
            return _error_page(problem)
        if problem:
            return _redirect(params["redirect_uri"], {"error": problem, "state": params["state"]})
        session = self._session(request)
        if session is not None:
            return self._issue_code(params, session[0], session[1])
        return self._login_page(params)

    async def login(self, request: Request) -> Response:
        """POST /login: check the password, then redirect with a single-use code."""
        form = await request.form()
        params = {k: str(form.get(k, "")) for k in AUTHORIZE_PARAMS}
        client, problem = self._check_authorize(params)
        if client is None:
            return _error_page(problem)
        if problem:
            return _redirect(params["redirect_uri"], {"error": problem, "state": params["state"]})
        csrf = str(form.get("_csrf", ""))
        if not csrf or not secrets.compare_digest(csrf, request.cookies.get(CSRF_COOKIE, "")):
            return self._login_page(params, "Your sign-in form expired. Please try again.")
        user = self.issuer.config.user(str(form.get("username", "")))
        if user is None or not secrets.compare_digest(user.password, str(form.get("password", ""))):
            return self._login_page(params, "Incorrect username or password.")
        session = secrets.token_urlsafe(32)
        now = int(time.time())
        self.sessions.put(session, (user.username, now, now + SESSION_LIFETIME_SECONDS))
        response = self._issue_code(params, user.username, now)
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax", path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    # -- /signup (self sign-up on) ----------------------------------------------------------------
    async def signup_page(self, request: Request) -> Response:
        """GET /signup: the sign-up page, when self sign-up is on."""
        params = {k: request.query_params.get(k, "") for k in AUTHORIZE_PARAMS}
        client, problem = self._check_authorize(params)
        if client is None or not self.issuer.config.self_sign_up:
            return _error_page(problem or "Sign-up is not enabled for this app.")
        return self._form_page(SIGNUP_PAGE, params)

    async def signup(self, request: Request) -> Response:
        """POST /signup: apply the domain rule (the PreSignUp handler), then create the user."""
        from scripts.localdev.signup_policy import canonical_email, sign_up_refusal

        form = await request.form()
        params = {k: str(form.get(k, "")) for k in AUTHORIZE_PARAMS}
        client, problem = self._check_authorize(params)
        if client is None or not self.issuer.config.self_sign_up:
            return _error_page(problem or "Sign-up is not enabled for this app.")
        csrf = str(form.get("_csrf", ""))
        if not csrf or not secrets.compare_digest(csrf, request.cookies.get(CSRF_COOKIE, "")):
            return self._form_page(SIGNUP_PAGE, params, "Your sign-up form expired. Please try again.")
        email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
        domains = self.issuer.config.organization_domain
        # Cognito runs the PreSignUp trigger before anything else; here the trigger's own code decides.
        refusal = sign_up_refusal(email, None if domains is None else {"ORGANIZATION_DOMAIN": domains})
        if refusal is None and len(password) < MIN_PASSWORD_LENGTH:
            refusal = "Password did not conform with policy: Password not long enough"
        # One account per mailbox: the username is the canonical address (Dup@ and dup@ are one).
        if refusal is None and self.issuer.config.user(canonical_email(email)) is not None:
            refusal = "An account with the given email already exists."
        if refusal is None and len(self.issuer.config.users) >= MAX_SIGNED_UP_USERS:
            refusal = "Sign-up is not available right now. Please try again later."
        if refusal is not None:
            return self._form_page(SIGNUP_PAGE, params, refusal)
        self.issuer.config.add_user(canonical_email(email), password, email=canonical_email(email))
        self.counts["signup"] += 1
        return self._form_page(LOGIN_PAGE, params, notice="Your account is ready. Please sign in.")

    def _check_authorize(self, params: dict[str, str]) -> tuple[Client | None, str]:
        """(client, "") when fine; (client, error) to redirect with; (None, text) to show."""
        client = self.issuer.config.client(params["client_id"])
        if client is None or not client.callback_urls:
            return None, "This app is not registered for sign-in."
        if params["redirect_uri"] not in client.callback_urls:  # exact match, as Cognito does
            return None, "The sign-in request names a callback URL this app did not register."
        if params["response_type"] != "code":
            return client, "unsupported_response_type"
        if params["code_challenge_method"] != "S256" or len(params["code_challenge"]) < 43:
            return client, "invalid_request"  # PKCE is required here, and only S256
        if any(scope not in self._allowed_scopes(client) for scope in params["scope"].split()):
            return client, "invalid_scope"
        return client, ""

    def _issue_code(self, params: dict[str, str], username: str, auth_time: int) -> Response:
        code = secrets.token_urlsafe(32)
        self.codes.put(
            code,
            _Grant(
                client_id=params["client_id"],
                username=username,
                scopes=params["scope"].split() or ["openid"],
                expires_at=time.time() + self.code_lifetime,
                redirect_uri=params["redirect_uri"],
                code_challenge=params["code_challenge"],
                nonce=params["nonce"] or None,
                auth_time=auth_time,
            ),
        )
        query = {"code": code, **({"state": params["state"]} if params["state"] else {})}
        return _redirect(params["redirect_uri"], query)

    def _session(self, request: Request) -> tuple[str, int] | None:
        """(username, auth_time) of the browser's hosted-UI session, if it has a live one."""
        entry = self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if entry is None or entry[2] < time.time():
            return None
        return entry[0], entry[1]

    def _login_page(self, params: dict[str, str], error: str = "") -> Response:
        self.counts["login_page"] += 1
        return self._form_page(LOGIN_PAGE, params, error)

    def _form_page(
        self, template: str, params: dict[str, str], error: str = "", notice: str = ""
    ) -> Response:
        """The sign-in or sign-up page, with a fresh CSRF token and the authorize parameters."""
        csrf = secrets.token_urlsafe(24)
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in params.items()
        )
        alert = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        if notice:
            alert += f'<p role="status">{html.escape(notice)}</p>'
        query = html.escape(urlencode(params))
        other = ""
        if template is LOGIN_PAGE and self.issuer.config.self_sign_up:
            other = f'<p>New here? <a href="/signup?{query}">Create an account</a></p>'
        elif template is SIGNUP_PAGE:
            other = f'<p>Have an account? <a href="/oauth2/authorize?{query}">Sign in</a></p>'
        page = template.format(hidden=hidden, alert=alert, csrf=csrf, other=other)
        response = HTMLResponse(page, status_code=200)
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        """GET /logout: end the hosted-UI session, then redirect to an allowed logout URI."""
        client = self.issuer.config.client(request.query_params.get("client_id", ""))
        target = request.query_params.get("logout_uri", "")
        if client is None or target not in client.logout_urls:
            return _error_page("The sign-out request names a sign-out URL this app did not register.")
        self.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        self.counts["logout"] += 1
        response = RedirectResponse(target, status_code=302)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @staticmethod
    def _allowed_scopes(client: Client) -> set[str]:
        return set(client.allowed_scopes) | {"openid"}


def _redirect(uri: str, query: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{separator}{urlencode(query)}", status_code=302)


def _error_page(message: str) -> Response:
    body = f'<!doctype html><title>Sign-in error</title><p role="alert">{html.escape(message)}</p>'
    return HTMLResponse(body, status_code=400)


# The sign-in and sign-up pages share one shell; {{...}} survive the first .format() for the second.
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{{{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}}}
label{{{{display:block;margin:.8rem 0 .2rem}}}}input:not([type=hidden]){{{{width:100%;padding:.5rem}}}}
button{{{{margin-top:1rem;padding:.5rem 1.2rem}}}}[role=alert]{{{{color:#b00020}}}}</style></head>
<body><main><h1>{title}</h1><p>Local stand-in for the Cognito hosted UI.</p>{{alert}}
<form method="post" action="{action}">{{hidden}}<input type="hidden" name="_csrf" value="{{csrf}}">
<label for="{field}">{label}</label>
<input id="{field}" name="{field}" type="{kind}" autocomplete="{field}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="{password_autocomplete}" required>
<button type="submit">{title}</button></form>{{other}}</main></body></html>
"""
LOGIN_PAGE = _PAGE.format(
    title="Sign in", action="/login", field="username", label="Username", kind="text",
    password_autocomplete="current-password",
)  # fmt: skip
SIGNUP_PAGE = _PAGE.format(
    title="Sign up", action="/signup", field="email", label="Email", kind="email",
    password_autocomplete="new-password",
)  # fmt: skip
