"""A secret's encoded forms and credential shapes are masked (orchestrator/secrets/masking.py)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from orchestrator.secrets.masking import MASK, Masker

SECRET = "pass?> w/rd+=&ü~~~"  # every encoding changes it; its base64 has "+" and "=="
PEM_LINES = [
    "-----BEGIN RSA PRIVATE KEY-----",
    "MIIEowIBAAKCAQEAx3+7Uv0dOaQ/J4k2PqNcQsr8yZ1wExampleBody",
    "yZ1wExampleBodyMIIEowIBAAKCAQEAx3+7Uv0dOaQ/J4k2PqNcQsr8",
    "-----END RSA PRIVATE KEY-----",
]
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5" * 4
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCD"


def _b64(value: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(value.encode()).decode()


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(SECRET, id="raw"),
        pytest.param(_b64(SECRET), id="base64"),
        pytest.param(_b64(SECRET).rstrip("="), id="base64-unpadded"),
        pytest.param(_b64(SECRET, urlsafe=True), id="base64-urlsafe"),
        pytest.param(_b64(SECRET, urlsafe=True).rstrip("="), id="base64-urlsafe-unpadded"),
        pytest.param(quote(SECRET, safe=""), id="url-quote"),
        pytest.param(quote_plus(SECRET), id="url-quote-plus"),
        pytest.param(json.dumps(SECRET)[1:-1], id="json-escaped"),
        pytest.param(json.dumps(SECRET, ensure_ascii=False)[1:-1], id="json-escaped-unicode"),
    ],
)
def test_every_encoded_form_of_a_secret_is_masked(form: str) -> None:
    assert Masker([SECRET])(f"value=<{form}> again {form}") == f"value=<{MASK}> again {MASK}"


def test_the_encoded_forms_really_differ_from_the_raw_value() -> None:
    forms = {
        _b64(SECRET),
        _b64(SECRET, urlsafe=True),
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        json.dumps(SECRET)[1:-1],
    }
    assert SECRET not in forms
    assert len(forms) == 5
    assert "+" in _b64(SECRET) and _b64(SECRET).endswith("==")


def test_each_line_of_a_multiline_secret_is_masked_on_its_own() -> None:
    secret = "first-line-value\n  second-line-value  \nab\n"
    mask = Masker([secret])
    assert mask("got first-line-value") == f"got {MASK}"
    assert mask("got second-line-value.") == f"got {MASK}."
    assert mask("ab stays: a line under four characters is not registered") == (
        "ab stays: a line under four characters is not registered"
    )


def test_a_multiline_secret_inside_json_is_masked() -> None:
    secret = 'line one "quoted"\nline two\ttabbed'
    mask = Masker([secret])
    document = json.dumps({"password": secret, "user": "admin"})
    assert "\\n" in document and '\\"' in document
    assert mask(document) == json.dumps({"password": MASK, "user": "admin"})


def test_a_short_value_is_not_registered_in_any_form() -> None:
    mask = Masker(["abc"])
    for text in ("abc", _b64("abc"), "YWJj", quote("abc")):
        assert mask(text) == text


def test_longest_match_wins_when_a_secret_contains_another() -> None:
    mask = Masker(["token", "token-with-suffix"])
    assert mask("a token-with-suffix b token") == f"a {MASK} b {MASK}"


def test_overlapping_secrets_leave_no_tail_visible() -> None:
    mask = Masker(["zzabc", "abcdef"])
    assert mask("[zzabcdef]") == f"[{MASK}]"


def test_text_without_secrets_or_credential_shapes_is_unchanged() -> None:
    mask = Masker([SECRET, "correcthorse"])
    for text in (
        "module.vpc.aws_subnet.private[2]: Creation complete after 3s [id=subnet-0a1b2c3d]",
        "Plan: 3 to add, 0 to change, 0 to destroy.",
        "the Bearer token is read from the environment; secret_key is optional",
        "missing Authorization: Bearer <token>",
        "Asia Pacific (Tokyo) ap-northeast-1; gh repo clone; ghp_short",
        "",
    ):
        assert mask(text) == text


def test_a_private_key_block_in_one_text_is_masked_whole() -> None:
    text = "output = <<EOT\n" + "\n".join(PEM_LINES) + "\nEOT\ndone"
    assert Masker()(text) == f"output = <<EOT\n{MASK}\nEOT\ndone"


def test_a_private_key_block_inside_json_is_masked() -> None:
    document = json.dumps({"private_key_pem": "\n".join(PEM_LINES) + "\n", "id": "x"})
    assert Masker()(document) == json.dumps({"private_key_pem": MASK + "\n", "id": "x"})


def test_a_private_key_streamed_line_by_line_is_masked_from_begin_to_end() -> None:
    mask = Masker()
    lines = ["  + private_key_pem = <<-EOT", *(f"        {line}" for line in PEM_LINES)]
    lines += ["    EOT", "Plan: 1 to add"]
    shown = [mask(line) for line in lines]
    assert shown == [
        "  + private_key_pem = <<-EOT",
        f"        {MASK}",
        MASK,
        MASK,
        MASK,
        "    EOT",
        "Plan: 1 to add",
    ]


@pytest.mark.parametrize(
    "kind", ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]
)
def test_every_private_key_kind_is_recognised(kind: str) -> None:
    text = f"-----BEGIN {kind}-----\nAAAAbody\n-----END {kind}-----"
    assert Masker()(text) == MASK


def test_a_public_key_or_certificate_is_not_masked() -> None:
    text = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ\n-----END PUBLIC KEY-----"
    mask = Masker()
    assert mask(text) == text
    assert mask("-----BEGIN CERTIFICATE-----") == "-----BEGIN CERTIFICATE-----"
    assert mask("MIIBkTCB+wIJAKHHIG") == "MIIBkTCB+wIJAKHHIG"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("key AKIAIOSFODNN7EXAMPLE used", f"key {MASK} used"),
        ('"AccessKeyId": "ASIAY34FZKBOKMUTVV7A"', f'"AccessKeyId": "{MASK}"'),
        (f"aws_secret_access_key = {AWS_SECRET}", f"aws_secret_access_key = {MASK}"),
        (f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}", f"export AWS_SECRET_ACCESS_KEY={MASK}"),
        (f'{{"SecretAccessKey": "{AWS_SECRET}"}}', f'{{"SecretAccessKey": "{MASK}"}}'),
        (f'\\"SecretAccessKey\\":\\"{AWS_SECRET}\\"', f'\\"SecretAccessKey\\":\\"{MASK}\\"'),
        (f"token={GITHUB_TOKEN}", f"token={MASK}"),
        (f"gho_{'x' * 36} ghs_{'Y9' * 18}", f"{MASK} {MASK}"),
        (f"GITHUB_TOKEN: {GITHUB_PAT}", f"GITHUB_TOKEN: {MASK}"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            f"Authorization: Bearer {MASK}",
        ),
        ("authorization: bearer srt_4f3a9c0d", f"authorization: bearer {MASK}"),
    ],
)
def test_credential_shapes_are_masked_without_being_registered(text: str, shown: str) -> None:
    assert Masker()(text) == shown


def test_an_unlabelled_forty_character_string_is_not_taken_for_an_aws_secret() -> None:
    text = f"sha = {AWS_SECRET}"
    assert Masker()(text) == text


def test_secrets_added_after_a_call_are_masked_in_later_calls() -> None:
    mask = Masker()
    assert mask(_b64("late-secret")) == _b64("late-secret")
    mask.add("late-secret")
    assert mask(_b64("late-secret")) == MASK


def test_many_secrets_are_all_masked() -> None:
    values = [f"secret-number-{index:03d}-{'x' * (index % 7)}" for index in range(200)]
    mask = Masker(values)
    text = " | ".join(values[::-1])
    assert mask(text) == " | ".join([MASK] * len(values))
