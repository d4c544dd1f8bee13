"""Log redaction (orchestrator/secrets/masking.py)."""

from __future__ import annotations

import pytest

from orchestrator.secrets.masking import MASK, Masker, redact_url, url_secrets


def test_every_occurrence_is_masked() -> None:
    mask = Masker(["hunter2!"])
    assert mask("a hunter2! b hunter2!hunter2!") == f"a {MASK} b {MASK}{MASK}"


def test_longest_secret_is_masked_first_so_no_tail_leaks() -> None:
    # Added shortest first on purpose: a short-first replace would leave "efgh" visible.
    mask = Masker(["abcd", "abcdefgh"])
    assert mask("token=abcdefgh") == f"token={MASK}"
    assert mask("prefix=abcd") == f"prefix={MASK}"


def test_values_shorter_than_four_characters_are_not_masked() -> None:
    mask = Masker(["abc", "", "x"])
    assert mask("abc x abcabc") == "abc x abcabc"


def test_four_character_values_are_masked() -> None:
    assert Masker(["abcd"])("abcd") == MASK


def test_added_values_are_masked_too() -> None:
    mask = Masker()
    assert mask("password=correcthorse") == "password=correcthorse"
    mask.add("correcthorse")
    assert mask("password=correcthorse") == f"password={MASK}"


def test_adding_a_value_twice_is_harmless() -> None:
    mask = Masker(["secretvalue", "secretvalue"])
    mask.add("secretvalue")
    assert mask("secretvalue") == MASK


def test_text_without_secrets_is_unchanged() -> None:
    line = "null_resource.x: Creation complete after 0s [id=1234567890]"
    assert Masker(["AKIAIOSFODNN7EXAMPLE"])(line) == line


def test_multiline_terraform_output_is_masked_on_every_line() -> None:
    mask = Masker(["wJalrXUtnFEMI/K7MDENG"])
    text = "+ secret = wJalrXUtnFEMI/K7MDENG\n+ again  = wJalrXUtnFEMI/K7MDENG\n"
    assert mask(text) == f"+ secret = {MASK}\n+ again  = {MASK}\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://bot:tok3n-value@git.example.com/a/b.git", "https://***@git.example.com/a/b.git"),
        ("https://tok3n-value@git.example.com:8443/a/b", "https://***@git.example.com:8443/a/b"),
        ("https://git.example.com/a/b.git", "https://git.example.com/a/b.git"),
        ("file:///srv/git/platform.git", "file:///srv/git/platform.git"),
    ],
)
def test_redact_url_hides_credentials_and_keeps_the_rest(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_url_secrets_lists_the_user_and_password() -> None:
    assert url_secrets("https://bot:tok3n@host/x") == ["tok3n", "bot"]
    assert url_secrets("https://host/x") == []
