"""The web UI's sessions: sign in with a token gives an HttpOnly, SameSite=Strict cookie
(Secure over HTTPS) naming a server-side session with an expiry; every form carries the
session's CSRF token; signing out and revoking the token end the session."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orchestrator import db as database
from orchestrator.auth import revoke_token
from orchestrator.models import AuditEntry, UiSession
from orchestrator.settings import get_settings
from tests.support.ui_browser import csrf_of, post_form, sign_in
from tests.unit.api.conftest import Api


def test_a_page_without_a_session_sends_the_browser_to_sign_in(api: Api) -> None:
    answer = api.client.get("/runs?state=FAILED", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Fruns%3Fstate%3DFAILED"


def test_sign_in_sets_an_httponly_strict_cookie_with_an_expiry_and_audits(api: Api) -> None:
    answer = sign_in(api.client, api.tokens["viewer"])
    assert answer.status_code == 303 and answer.headers["location"] == "/runs"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "stackrun_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28" in cookie
    assert "Secure" not in cookie
    assert api.tokens["viewer"] not in cookie
    with database.session_scope() as session:
        stored = session.scalars(select(UiSession)).one()
        assert stored.id_hash not in cookie
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "ui.sign_in" in actions
    assert api.client.get("/runs").status_code == 200


def test_over_https_the_session_cookie_is_secure(api: Api) -> None:
    with TestClient(api.client.app, base_url="https://testserver") as browser:
        answer = sign_in(browser, api.tokens["viewer"])
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "stackrun_session=" in c)
    assert "Secure" in cookie


def test_behind_a_proxy_ending_tls_an_https_api_url_makes_the_cookie_secure(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACKRUN_API_URL", "https://stackrun.example.com")
    get_settings.cache_clear()
    form = api.client.get("/signin")
    login = form.headers["set-cookie"]
    assert "Secure" in login
    # The proxy speaks plain HTTP to stackrun; the browser sent the Secure cookie over HTTPS.
    answer = api.client.post(
        "/signin",
        data={"csrf": csrf_of(form), "token": api.tokens["viewer"], "next": "/runs"},
        headers={"Cookie": login.split(";", 1)[0]},
        follow_redirects=False,
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "stackrun_session=" in c)
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_a_session_id_planted_before_sign_in_is_never_used(api: Api) -> None:
    api.client.cookies.set("stackrun_session", "planted-by-an-attacker")
    answer = sign_in(api.client, api.tokens["viewer"])
    assert "planted-by-an-attacker" not in answer.headers["set-cookie"]
    fixed = TestClient(api.client.app, cookies={"stackrun_session": "planted-by-an-attacker"})
    assert fixed.get("/runs", follow_redirects=False).status_code == 303


def test_an_unknown_token_or_a_form_without_its_csrf_token_signs_nobody_in(api: Api) -> None:
    form = api.client.get("/signin")
    wrong = api.client.post("/signin", data={"csrf": csrf_of(form), "token": "srt_nope"})
    assert wrong.status_code == 401 and "Unknown token" in wrong.text
    forged = api.client.post("/signin", data={"token": api.tokens["admin"]})
    assert forged.status_code == 403
    assert "stackrun_session" not in forged.headers.get("set-cookie", "")


def test_sign_out_needs_the_csrf_token_and_ends_the_session(api: Api) -> None:
    sign_in(api.client, api.tokens["viewer"])
    refused = api.client.post("/signout", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert api.client.get("/runs").status_code == 200
    cookie = api.client.cookies["stackrun_session"]
    out = post_form(api.client, "/runs", "/signout")
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    again = TestClient(api.client.app, cookies={"stackrun_session": cookie})
    assert again.get("/runs", follow_redirects=False).status_code == 303


def test_revoking_the_token_ends_its_sessions(api: Api) -> None:
    sign_in(api.client, api.tokens["viewer"])
    with database.session_scope() as session:
        assert revoke_token(session, "viewer")
    assert api.client.get("/runs", follow_redirects=False).status_code == 303


def test_sign_in_never_redirects_off_the_server(api: Api) -> None:
    form = api.client.get("/signin?next=//evil.example/x")
    answer = api.client.post(
        "/signin",
        data={"csrf": csrf_of(form), "token": api.tokens["viewer"], "next": "//evil.example"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"
    for sneaky in ("/\t/evil.example", "/\n/evil.example", "/\\evil.example", "/caf\u00e9"):
        form = api.client.get("/signin")
        answer = api.client.post(
            "/signin",
            data={"csrf": csrf_of(form), "token": api.tokens["viewer"], "next": sneaky},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/", sneaky


def test_odd_numbers_in_a_query_are_no_filter_never_an_error(api: Api) -> None:
    signed_in = api.client.get("/signin")
    api.client.post(
        "/signin", data={"csrf": csrf_of(signed_in), "token": api.tokens["viewer"], "next": "/"}
    )
    for query in ("page=%C2%B2", "pipeline=%C2%B9", "page=" + "9" * 30):
        assert api.client.get(f"/runs?{query}").status_code == 200, query
