"""The platform catalog and the key-shape check shared by the gateway, keyvault and usage."""

from __future__ import annotations

import pytest
from svccommon import platforms
from svccommon.platforms import InvalidKey, UnknownPlatform


def test_catalog_shape() -> None:
    items = [p.to_dict() for p in platforms.list_platforms()]
    assert all(set(i) == {"id", "name", "connect", "units", "key_hint", "fields"} for i in items)
    assert len({i["id"] for i in items}) == len(items)
    assert all(i["connect"] in ("api_key", "file", "both") and i["units"] and i["key_hint"] for i in items)
    assert {"openai", "anthropic", "aws_bedrock", "azure_openai", "google"} <= {
        i["id"] for i in items if i["connect"] == "both"
    }
    assert {"mistral", "cohere"} <= {i["id"] for i in items if i["connect"] == "file"}


@pytest.mark.parametrize(
    ("platform", "key", "ok"),
    [
        ("openai", "sk-admin-abcdefghijklmnop", True),
        ("openai", "sk-proj-abcdefghijklmnop", False),
        ("anthropic", "sk-ant-admin01-abcdefghijkl", True),
        ("anthropic", "sk-ant-api03-abcdefghijkl", False),
        ("elevenlabs", "sk_0123456789abcdef", True),
        ("openrouter", "sk-or-v1-0123456789abcdef", True),
        ("deepgram", "0123456789abcdef0123456789abcdef01234567", True),
        ("deepgram", "tiny", False),
        ("deepgram", "has space inside-0123456789", False),
        ("openrouter", " sk-or-v1-0123456789abcdef", False),
        ("openrouter", "sk-or-v1-é0123456789abcdef", False),
        ("openrouter", "x" * 1025, False),
        ("google", "AIzaSyA-anything-at-all", False),  # a Gemini key reads no spend: fields instead
        ("mistral", "anything-at-all-0123", False),
    ],
)
def test_key_shapes(platform: str, key: str, ok: bool) -> None:
    problem = platforms.key_problem(platform, key)
    assert (problem is None) is ok
    if ok:
        platforms.validate_key(platform, key)
    else:
        with pytest.raises(InvalidKey) as err:
            platforms.validate_key(platform, key)
        assert err.value.message == problem
        assert key.strip() not in problem  # never echo the key back


def test_wrong_kind_of_key_says_what_to_use_and_where() -> None:
    with pytest.raises(InvalidKey) as err:
        platforms.validate_key("openai", "sk-proj-abcdefghijklmnop")
    assert err.value.field == "api_key"
    assert "sk-admin-" in err.value.message
    assert "platform.openai.com/settings/organization/admin-keys" in err.value.message
    with pytest.raises(InvalidKey) as err:
        platforms.validate_key("anthropic", "sk-ant-api03-abcdefghijkl")
    assert "sk-ant-admin" in err.value.message and "Admin" in err.value.message


def test_unknown_and_file_only_platforms_blame_the_platform_field() -> None:
    with pytest.raises(UnknownPlatform) as err:
        platforms.validate_key("nope", "sk-admin-abcdefghijklmnop")
    assert err.value.field == "platform" and "/v1/platforms" in err.value.message
    with pytest.raises(InvalidKey) as err:
        platforms.validate_key("mistral", "anything-at-all-0123")
    assert err.value.field == "platform" and "billing file" in err.value.message
    with pytest.raises(UnknownPlatform):
        platforms.get_platform("")
    unknown = UnknownPlatform("x")
    assert isinstance(unknown, ValueError) and isinstance(unknown, KeyError)
    assert str(unknown) == unknown.message  # not KeyError's quoted repr


def test_catalog_units_are_canonical_unit_names() -> None:
    from svccommon.units import ALL_UNITS

    for item in (p.to_dict() for p in platforms.list_platforms()):
        assert set(item["units"]) <= ALL_UNITS, item["id"]
