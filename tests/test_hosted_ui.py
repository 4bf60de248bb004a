"""The local issuer's hosted UI over real HTTP: code + PKCE, refresh rotation, revoke, logout."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from scripts.localdev.hosted_ui import SESSION_COOKIE
from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.oauth_grants import s256
from scripts.localdev.pool import Client, IssuerConfig, User
from scripts.localdev.serving import BackgroundServer

APP = "http://127.0.0.1:9/app/"
WEB = Client(
    client_id="web-client",
    allowed_scopes=["openid", "profile"],
    callback_urls=[APP],
    logout_urls=[APP],
    access_token_validity=120,
    refresh_token_validity=600,
)
MACHINE = Client(client_id="machine", client_secret="machine-secret-77", allowed_scopes=["x/invoke"])
SAM = User(username="sam", password="pw-" + uuid.uuid4().hex, sub=str(uuid.uuid4()))


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer(IssuerConfig(pool_id="us-east-1_HOSTED", clients=[WEB, MACHINE], users=[SAM]))
    with BackgroundServer(local.app()) as server:
        local.base_url = server.url
        yield local


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(challenge: str, **changes: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": WEB.client_id,
        "redirect_uri": APP,
        "state": "st-123",
        "scope": "openid profile",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return {**params, **changes}


def sign_in(
    browser: httpx.Client, issuer: LocalIssuer, challenge: str, password: str = SAM.password
) -> httpx.Response:
    """Open the authorize URL, fill the sign-in form like a browser would, return the answer."""
    page = browser.get(f"{issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
    assert page.status_code == 200 and 'name="username"' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.update({"username": SAM.username, "password": password})
    return browser.post(f"{issuer.base_url}/login", data=fields)


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == APP
    query = parse_qs(location.query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


def redeem(issuer: LocalIssuer, code: str, verifier: str, **changes: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": WEB.client_id,
        "code": code,
        "redirect_uri": APP,
        "code_verifier": verifier,
        **changes,
    }
    return httpx.post(issuer.token_url, data=data, timeout=10)


def refresh(issuer: LocalIssuer, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "client_id": WEB.client_id, "refresh_token": token}
    return httpx.post(issuer.token_url, data=data, timeout=10)


def claims(issuer: LocalIssuer, token: str) -> dict[str, Any]:
    key = jwt.PyJWKClient(issuer.jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], issuer=issuer.issuer, options={"verify_aud": False}
    )


def signed_in_tokens(issuer: LocalIssuer) -> dict[str, Any]:
    verifier, challenge = pkce()
    with httpx.Client(timeout=10) as browser:
        code = code_from(sign_in(browser, issuer, challenge))
    response = redeem(issuer, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


def test_code_flow_with_pkce_gives_cognito_shaped_tokens(issuer: LocalIssuer) -> None:
    body = signed_in_tokens(issuer)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 120
    access = claims(issuer, body["access_token"])
    assert access["token_use"] == "access" and access["client_id"] == WEB.client_id
    assert access["username"] == "sam" and access["sub"] == SAM.sub
    assert access["scope"] == "openid profile" and "aud" not in access
    assert access["exp"] - access["iat"] == 120
    identity = claims(issuer, body["id_token"])
    assert identity["token_use"] == "id" and identity["aud"] == WEB.client_id
    assert identity["cognito:username"] == "sam"
    assert body["refresh_token"].count(".") == 0  # opaque, not a JWT


def test_wrong_password_shows_the_form_again(issuer: LocalIssuer) -> None:
    _, challenge = pkce()
    with httpx.Client(timeout=10) as browser:
        page = sign_in(browser, issuer, challenge, password="not-it")
    assert page.status_code == 200
    assert "Incorrect username or password." in page.text and 'name="password"' in page.text


def test_sign_in_without_the_forms_csrf_cookie_is_refused(issuer: LocalIssuer) -> None:
    _, challenge = pkce()
    with httpx.Client(timeout=10) as browser:
        page = browser.get(f"{issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.update({"username": SAM.username, "password": SAM.password})
    with httpx.Client(timeout=10) as other_browser:  # no cookie from the form's page
        answer = other_browser.post(f"{issuer.base_url}/login", data=fields)
    assert answer.status_code == 200 and "expired" in answer.text


def test_the_hosted_ui_session_skips_the_form_until_logout(issuer: LocalIssuer) -> None:
    _, challenge = pkce()
    with httpx.Client(timeout=10) as browser:
        code_from(sign_in(browser, issuer, challenge))
        assert browser.cookies.get(SESSION_COOKIE)
        again = browser.get(f"{issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
        code_from(again)  # straight back with a code, no form
        out = browser.get(f"{issuer.base_url}/logout", params={"client_id": WEB.client_id, "logout_uri": APP})
        assert out.status_code == 302 and out.headers["location"] == APP
        form = browser.get(f"{issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
        assert form.status_code == 200 and 'name="password"' in form.text


def test_logout_to_an_unregistered_url_is_refused(issuer: LocalIssuer) -> None:
    response = httpx.get(
        f"{issuer.base_url}/logout",
        params={"client_id": WEB.client_id, "logout_uri": "http://127.0.0.1:9/elsewhere"},
        timeout=10,
    )
    assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uri": "http://127.0.0.1:9/app"}, None),  # no trailing slash: not an exact match
        ({"redirect_uri": "http://127.0.0.1:9/app/?x=1"}, None),
        ({"client_id": "nobody"}, None),
        ({"client_id": MACHINE.client_id}, None),  # no callback URLs: no hosted UI
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
    ],
)
def test_bad_authorize_requests(issuer: LocalIssuer, change: dict[str, str], error: str | None) -> None:
    _, challenge = pkce()
    params = authorize_params(challenge, **change)
    response = httpx.get(f"{issuer.base_url}/oauth2/authorize", params=params, timeout=10)
    if error is None:  # never redirect to a URL the app did not register
        assert response.status_code == 400 and "location" not in response.headers
    else:
        assert response.status_code == 302
        location = urlsplit(response.headers["location"])
        assert location.path == "/app/" and parse_qs(location.query)["error"] == [error]


def test_codes_are_single_use_bound_to_verifier_and_redirect(issuer: LocalIssuer) -> None:
    verifier, challenge = pkce()
    with httpx.Client(timeout=10) as browser:
        code = code_from(sign_in(browser, issuer, challenge))
        assert redeem(issuer, code, "x" * 50).json() == {"error": "invalid_grant"}
        assert redeem(issuer, code, verifier).json() == {"error": "invalid_grant"}  # burnt by the try

        code = code_from(
            browser.get(f"{issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
        )
        wrong_uri = redeem(issuer, code, verifier, redirect_uri="http://127.0.0.1:9/other/")
        assert wrong_uri.status_code == 400

        code = code_from(
            browser.get(f"{issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
        )
        assert redeem(issuer, code, verifier).status_code == 200
        assert redeem(issuer, code, verifier).json() == {"error": "invalid_grant"}


def test_codes_expire(issuer: LocalIssuer) -> None:
    issuer.hosted_ui.code_lifetime = 0
    verifier, challenge = pkce()
    with httpx.Client(timeout=10) as browser:
        code = code_from(sign_in(browser, issuer, challenge))
    time.sleep(0.05)
    assert redeem(issuer, code, verifier).json() == {"error": "invalid_grant"}


def test_s256_matches_rfc_7636_example() -> None:
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_refresh_rotates_and_retires_the_old_token(issuer: LocalIssuer) -> None:
    first = signed_in_tokens(issuer)
    time.sleep(1.1)  # so a wrongly renewed auth_time would differ
    renewed = refresh(issuer, first["refresh_token"])
    assert renewed.status_code == 200
    body = renewed.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert claims(issuer, body["access_token"])["sub"] == SAM.sub
    assert claims(issuer, body["id_token"])["sub"] == SAM.sub
    # auth_time is when the user signed in, not when the token was refreshed (clients check it)
    assert claims(issuer, body["id_token"])["auth_time"] == claims(issuer, first["id_token"])["auth_time"]
    assert refresh(issuer, body["refresh_token"]).status_code == 200
    assert issuer.hosted_ui.counts["refresh"] == 2


def test_reusing_a_rotated_refresh_token_revokes_its_whole_family(issuer: LocalIssuer) -> None:
    stolen = signed_in_tokens(issuer)["refresh_token"]
    second = refresh(issuer, stolen).json()["refresh_token"]  # the app rotates on...
    current = refresh(issuer, second).json()["refresh_token"]  # ...and on
    elsewhere = signed_in_tokens(issuer)["refresh_token"]  # the same user on another device
    revoked = issuer.hosted_ui.counts["family_revoked"]
    # Someone replays the first, rotated-away token: refused, and the family it belongs to ends.
    assert refresh(issuer, stolen).json() == {"error": "invalid_grant"}
    assert issuer.hosted_ui.counts["family_revoked"] == revoked + 1
    assert refresh(issuer, current).json() == {"error": "invalid_grant"}  # the app must sign in again
    assert refresh(issuer, second).json() == {"error": "invalid_grant"}
    assert refresh(issuer, elsewhere).status_code == 200  # another sign-in's family is untouched


def test_without_rotation_the_refresh_token_stays(issuer: LocalIssuer) -> None:
    issuer.client(WEB.client_id).refresh_token_rotation = False  # type: ignore[union-attr]
    try:
        first = signed_in_tokens(issuer)
        renewed = refresh(issuer, first["refresh_token"])
        assert renewed.status_code == 200 and "refresh_token" not in renewed.json()
        assert refresh(issuer, first["refresh_token"]).status_code == 200  # still valid
    finally:
        issuer.client(WEB.client_id).refresh_token_rotation = True  # type: ignore[union-attr]


def test_refresh_needs_the_same_client(issuer: LocalIssuer) -> None:
    first = signed_in_tokens(issuer)
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    machine = httpx.post(issuer.token_url, data=data, auth=("machine", "machine-secret-77"), timeout=10)
    assert machine.json() == {"error": "unsupported_grant_type"}
    stranger = httpx.post(issuer.token_url, data={**data, "client_id": "nobody"}, timeout=10)
    assert stranger.status_code == 401


def test_revoke_ends_refresh(issuer: LocalIssuer) -> None:
    first = signed_in_tokens(issuer)
    assert issuer.hosted_ui.active_refresh_tokens("sam") == 1
    revoke = httpx.post(
        f"{issuer.base_url}/oauth2/revoke",
        content=urlencode({"token": first["refresh_token"], "client_id": WEB.client_id}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert revoke.status_code == 200
    assert issuer.hosted_ui.active_refresh_tokens("sam") == 0
    assert refresh(issuer, first["refresh_token"]).json() == {"error": "invalid_grant"}


def test_discovery_lists_the_hosted_ui_endpoints_and_allows_cors(issuer: LocalIssuer) -> None:
    response = httpx.get(issuer.discovery_url, headers={"Origin": "http://127.0.0.1:9"}, timeout=10)
    doc = response.json()
    assert response.headers["access-control-allow-origin"] == "*"
    assert doc["authorization_endpoint"] == f"{issuer.base_url}/oauth2/authorize"
    assert doc["revocation_endpoint"] == f"{issuer.base_url}/oauth2/revoke"
    assert {"authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])
    assert doc["code_challenge_methods_supported"] == ["S256"]


# ------------------------------------------------------------------------------------- self sign-up


@pytest.fixture
def open_issuer() -> Iterator[LocalIssuer]:
    """An issuer whose pool lets customers sign up, with example.com as the organization's domain."""
    config = IssuerConfig(
        pool_id="us-east-1_SIGNUP",
        clients=[WEB],
        users=[SAM],
        self_sign_up=True,
        organization_domain="example.com",
    )
    local = LocalIssuer(config)
    with BackgroundServer(local.app()) as server:
        local.base_url = server.url
        yield local


def sign_up(browser: httpx.Client, issuer: LocalIssuer, email: str, password: str) -> httpx.Response:
    """Follow the sign-in page's link to the sign-up page and fill it in like a browser."""
    _, challenge = pkce()
    page = browser.get(f"{issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
    (link,) = re.findall(r'<a href="(/signup\?[^"]+)">Create an account</a>', page.text)
    form = browser.get(issuer.base_url + link.replace("&amp;", "&"))
    assert form.status_code == 200
    assert '<label for="email">Email</label>' in form.text and ">Sign up</button>" in form.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.text))
    return browser.post(f"{issuer.base_url}/signup", data={**fields, "email": email, "password": password})


def alert_of(page: httpx.Response) -> str:
    (alert,) = re.findall(r'<p role="alert">([^<]*)</p>', page.text)
    return alert


def test_sign_up_admits_the_organizations_domain_and_the_new_user_signs_in(open_issuer: LocalIssuer) -> None:
    password = "Pw-" + secrets.token_urlsafe(12)
    with httpx.Client(timeout=10) as browser:
        done = sign_up(browser, open_issuer, "Ann@Example.com", password)
        assert done.status_code == 200 and "Your account is ready. Please sign in." in done.text
        assert 'name="username"' in done.text  # back on the sign-in page
        # Sign in with the new account: code + PKCE as for any user, tokens name the e-mail address.
        verifier, challenge = pkce()
        page = browser.get(f"{open_issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        signed_in = browser.post(
            f"{open_issuer.base_url}/login",
            data={**fields, "username": "Ann@Example.com", "password": password},
        )
    tokens = redeem(open_issuer, code_from(signed_in), verifier)
    assert tokens.status_code == 200, tokens.text
    access = claims(open_issuer, tokens.json()["access_token"])
    assert access["username"] == "ann@example.com" and access["sub"] not in {SAM.sub, ""}  # one spelling
    assert open_issuer.hosted_ui.counts["signup"] == 1


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        # The PreSignUp trigger's own refusal, with Cognito's prefix.
        (
            "eve@evil-example.com",
            "Pw-long-enough-123",
            "PreSignUp failed with error Sign-up is limited to e-mail addresses of our organization; "
            "use your work address..",
        ),
        (
            "ann@example.com.attacker.net",
            "Pw-long-enough-123",
            "PreSignUp failed with error Sign-up is limited",
        ),
        ("ann@example.com", "short", "Password did not conform with policy: Password not long enough"),
        (
            "sam",
            "Pw-long-enough-123",
            "PreSignUp failed with error An e-mail address is required to sign up..",
        ),
    ],
)
def test_sign_up_refusals_use_cognitos_words_and_create_nobody(
    open_issuer: LocalIssuer, email: str, password: str, message: str
) -> None:
    with httpx.Client(timeout=10) as browser:
        refused = sign_up(browser, open_issuer, email, password)
    assert refused.status_code == 200 and alert_of(refused).startswith(message)
    assert '<label for="email">Email</label>' in refused.text  # the form again
    assert [u.username for u in open_issuer.config.users] == [SAM.username]


@pytest.mark.parametrize(
    "email",
    [
        "a@evil.com@example.com",
        "a@evil.com, b@example.com",
        "a@evil.com b@example.com",
        "<a@evil.com>@example.com",
        "a@example.com\nbcc@evil.com",
        "dup@example.com.",
        '"a@evil.com"@example.com',
        "ana@bücher.example",
    ],
)
def test_the_issues_hostile_addresses_are_refused_by_the_sign_up_page(
    open_issuer: LocalIssuer, email: str
) -> None:
    with httpx.Client(timeout=10) as browser:
        refused = sign_up(browser, open_issuer, email, "Pw-long-enough-123")
    assert alert_of(refused).startswith("PreSignUp failed with error ")
    assert [u.username for u in open_issuer.config.users] == [SAM.username]


def test_one_mailbox_is_one_account_whatever_its_case(open_issuer: LocalIssuer) -> None:
    with httpx.Client(timeout=10) as browser:
        assert (
            "Your account is ready"
            in sign_up(browser, open_issuer, "dup@example.com", "Pw-long-enough-1").text
        )
        for spelling in ("Dup@example.com", "dup@Example.Com", "DUP@EXAMPLE.COM"):
            again = sign_up(browser, open_issuer, spelling, "Pw-long-enough-2")
            assert alert_of(again) == "An account with the given email already exists."
    assert [u.username for u in open_issuer.config.users] == [SAM.username, "dup@example.com"]
    assert open_issuer.config.user("DUP@example.com") is open_issuer.config.users[1]  # sign-in ignores case


def test_an_email_changed_after_sign_up_gets_no_more_tokens(open_issuer: LocalIssuer) -> None:
    password = "Pw-" + secrets.token_urlsafe(12)
    with httpx.Client(timeout=10) as browser:
        sign_up(browser, open_issuer, "cy@example.com", password)
        verifier, challenge = pkce()
        page = browser.get(f"{open_issuer.base_url}/oauth2/authorize", params=authorize_params(challenge))
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        signed_in = browser.post(
            f"{open_issuer.base_url}/login",
            data={**fields, "username": "cy@example.com", "password": password},
        )
    tokens = redeem(open_issuer, code_from(signed_in), verifier).json()
    first = refresh(open_issuer, tokens["refresh_token"])
    assert first.status_code == 200
    user = open_issuer.config.user("cy@example.com")
    assert user is not None
    user.email = "cy@elsewhere.net"  # changed after sign-up (Cognito runs no PreSignUp for that)
    revoked = open_issuer.hosted_ui.counts["family_revoked"]
    renewed = refresh(open_issuer, first.json()["refresh_token"])  # the current token, not a reused one
    assert (renewed.status_code, renewed.json()) == (400, {"error": "invalid_grant"})
    assert open_issuer.hosted_ui.counts["family_revoked"] == revoked  # refused by the address rule


def test_an_existing_account_cannot_be_signed_up_twice(open_issuer: LocalIssuer) -> None:
    with httpx.Client(timeout=10) as browser:
        assert sign_up(browser, open_issuer, "bo@example.com", "Pw-long-enough-1").status_code == 200
        again = sign_up(browser, open_issuer, "bo@example.com", "Pw-long-enough-2")
    assert alert_of(again) == "An account with the given email already exists."
    assert open_issuer.user("bo@example.com") is not None
    assert open_issuer.user("bo@example.com").password == "Pw-long-enough-1"  # type: ignore[union-attr]


def test_without_self_sign_up_there_is_no_sign_up_page(issuer: LocalIssuer) -> None:
    _, challenge = pkce()
    page = httpx.get(f"{issuer.base_url}/oauth2/authorize", params=authorize_params(challenge), timeout=10)
    assert "Create an account" not in page.text
    form = httpx.get(f"{issuer.base_url}/signup", params=authorize_params(challenge), timeout=10)
    assert form.status_code == 400 and "Sign-up is not enabled" in form.text
    posted = httpx.post(
        f"{issuer.base_url}/signup",
        data={**authorize_params(challenge), "email": "x@example.com", "password": "Pw-long-enough-1"},
        timeout=10,
    )
    assert posted.status_code == 400 and issuer.user("x@example.com") is None


# ------------------------------------------------------------------------------------- security headers


def test_every_hosted_ui_page_carries_the_security_headers(open_issuer: LocalIssuer) -> None:
    base = open_issuer.base_url
    _, challenge = pkce()
    params = authorize_params(challenge)
    with httpx.Client(timeout=10) as browser:
        pages = {
            "sign-in page": browser.get(f"{base}/oauth2/authorize", params=params),
            "sign-up page": browser.get(f"{base}/signup", params=params),
            "error page": browser.get(f"{base}/oauth2/authorize", params={**params, "client_id": "nope"}),
            "failed sign-in": browser.post(
                f"{base}/login", data={**params, "username": "x", "password": "y"}
            ),
            "sign-up refused": browser.post(
                f"{base}/signup", data={**params, "email": "a@b.c", "password": "p"}
            ),
            "sign-out redirect": browser.get(
                f"{base}/logout", params={"client_id": WEB.client_id, "logout_uri": APP}
            ),
            "token error": browser.post(f"{base}/oauth2/token", data={"grant_type": "password"}),
        }
    for name, response in pages.items():
        headers = response.headers
        assert headers["x-frame-options"] == "DENY", name
        assert "frame-ancestors 'none'" in headers["content-security-policy"], name
        assert "default-src 'none'" in headers["content-security-policy"], name
        assert (headers["x-content-type-options"], headers["referrer-policy"]) == (
            "nosniff",
            "no-referrer",
        ), name
    assert pages["sign-in page"].status_code == 200 and "<form" in pages["sign-in page"].text
    assert pages["sign-out redirect"].status_code == 302
