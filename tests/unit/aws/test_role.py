"""`aws_role_arn`, `aws_external_id` and `aws_session_duration` of a `stack {}` block: what
parses into an AwsRole, and what is said about what does not."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.aws.role import (
    DEFAULT_SESSION_SECONDS,
    MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
    AwsRole,
    parse_role,
)
from orchestrator.graph import hcl

ARN = "arn:aws:iam::123456789012:role/terraform-app"


def test_an_arn_alone_gives_a_role_with_the_default_hour() -> None:
    role, errors = parse_role({"name": "app", "aws_role_arn": ARN})
    assert errors == []
    assert role == AwsRole(ARN, None, DEFAULT_SESSION_SECONDS)
    assert DEFAULT_SESSION_SECONDS == 3600


def test_an_external_id_and_a_duration_are_kept() -> None:
    role, errors = parse_role(
        {"aws_role_arn": ARN, "aws_external_id": "acme-7f3a:prod", "aws_session_duration": "2h"}
    )
    assert errors == []
    assert role == AwsRole(ARN, "acme-7f3a:prod", 7200)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h", 3600),
        ("90m", 5400),
        ("15m", 900),
        ("12h", 43200),
        ("1h30m", 5400),
        ("900s", 900),
        ("11h59m59s", 43199),
    ],
)
def test_durations_within_stss_limits(text: str, seconds: int) -> None:
    role, errors = parse_role({"aws_role_arn": ARN, "aws_session_duration": text})
    assert errors == []
    assert role is not None
    assert role.session_seconds == seconds


@pytest.mark.parametrize(
    "arn",
    [
        ARN,
        "arn:aws:iam::123456789012:role/path/to/deployer",
        "arn:aws-us-gov:iam::123456789012:role/gov-deployer",
        "arn:aws-cn:iam::123456789012:role/name+with=odd,chars.@-_",
    ],
)
def test_role_arns_of_every_partition_and_path(arn: str) -> None:
    role, errors = parse_role({"aws_role_arn": arn})
    assert errors == []
    assert role is not None
    assert role.role_arn == arn


def test_no_arn_means_no_role_and_no_error() -> None:
    assert parse_role({}) == (None, [])
    assert parse_role({"name": "app", "autodeploy": True}) == (None, [])


@pytest.mark.parametrize(
    "block",
    [
        {"aws_external_id": "acme-7f3a"},
        {"aws_session_duration": "1h"},
        {"aws_external_id": "acme-7f3a", "aws_session_duration": "1h"},
    ],
)
def test_an_external_id_or_duration_without_an_arn_is_an_error(block: dict[str, Any]) -> None:
    role, errors = parse_role(block)
    assert role is None
    assert len(errors) == 1
    assert "need aws_role_arn" in errors[0]


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "terraform-app",
        "arn:aws:iam::123456789012:user/terraform-app",
        "arn:aws:iam::12345:role/terraform-app",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:sts::123456789012:assumed-role/terraform-app/session",
        "arn:aws:iam::123456789012:role/has space",
        " arn:aws:iam::123456789012:role/terraform-app",
        123456789012,
        ["arn:aws:iam::123456789012:role/terraform-app"],
    ],
)
def test_a_bad_arn_is_an_error_naming_it(arn: Any) -> None:
    role, errors = parse_role({"aws_role_arn": arn})
    assert role is None
    assert len(errors) == 1
    assert "is not an IAM role ARN" in errors[0]
    assert repr(arn) in errors[0]


@pytest.mark.parametrize(
    "block",
    [
        {"aws_role_arn": ARN + "\n"},
        {"aws_role_arn": ARN, "aws_external_id": "acme-7f3a\n"},
    ],
)
def test_a_trailing_newline_is_not_accepted(block: dict[str, Any]) -> None:
    """HCL's "\\n" escape can end a value with a newline; STS would refuse such an ARN or
    external id when the run starts, so the graph must say so at the push instead."""
    role, errors = parse_role(block)
    assert role is None
    assert len(errors) == 1


@pytest.mark.parametrize("external", ["x", "has space", "semi;colon", 42, ""])
def test_a_bad_external_id_is_an_error(external: Any) -> None:
    role, errors = parse_role({"aws_role_arn": ARN, "aws_external_id": external})
    assert role is None
    assert errors == [
        "aws_external_id must be 2 to 1224 characters of letters, digits and +=,.@:/-"
    ]


def test_the_longest_external_id_sts_takes_is_accepted_and_one_more_is_not() -> None:
    longest = "a" * 1224
    role, errors = parse_role({"aws_role_arn": ARN, "aws_external_id": longest})
    assert errors == []
    assert role is not None
    assert role.external_id == longest
    assert parse_role({"aws_role_arn": ARN, "aws_external_id": longest + "a"})[0] is None


@pytest.mark.parametrize("text", ["14m", "899s", "12h1m", "13h", "24h", "0m", "0h"])
def test_a_duration_outside_stss_limits_is_an_error(text: str) -> None:
    role, errors = parse_role({"aws_role_arn": ARN, "aws_session_duration": text})
    assert role is None
    assert errors == [f"aws_session_duration {text!r} must be between 15m and 12h (STS's limits)"]
    assert MIN_SESSION_SECONDS == 900
    assert MAX_SESSION_SECONDS == 43200


@pytest.mark.parametrize(
    "text", ["", "1 hour", "1d", "60", "1.5h", "m", "h", "30m1h", "-1h", " 1h", "1H", 3600, None]
)
def test_a_duration_that_is_not_a_duration_is_an_error(text: Any) -> None:
    block = {"aws_role_arn": ARN, "aws_session_duration": text}
    role, errors = parse_role(block)
    if text is None:  # an absent duration is the default hour
        assert errors == []
        assert role == AwsRole(ARN)
        return
    assert role is None
    assert errors == [f'aws_session_duration {text!r} must be a duration such as "1h" or "90m"']


def test_every_problem_is_reported_at_once() -> None:
    role, errors = parse_role(
        {"aws_role_arn": "nope", "aws_external_id": "x", "aws_session_duration": "2d"}
    )
    assert role is None
    assert len(errors) == 3
    assert [e.split(" ", 1)[0] for e in errors] == [
        "aws_role_arn",
        "aws_external_id",
        "aws_session_duration",
    ]


def test_a_role_survives_the_json_it_is_stored_as() -> None:
    role = AwsRole(ARN, "acme-7f3a", 5400)
    assert role.to_json() == {"role_arn": ARN, "external_id": "acme-7f3a", "session_seconds": 5400}
    assert AwsRole.from_json(role.to_json()) == role


def test_a_block_as_the_hcl_parser_gives_it() -> None:
    parsed = hcl.parse(
        "stack {\n"
        '  name                 = "app"\n'
        f'  aws_role_arn         = "{ARN}"\n'
        '  aws_external_id      = "acme-7f3a"\n'
        '  aws_session_duration = "90m"\n'
        "}\n",
        "stackrun.hcl",
    )
    assert isinstance(parsed, dict)
    role, errors = parse_role(parsed["stack"][0])
    assert errors == []
    assert role == AwsRole(ARN, "acme-7f3a", 5400)
