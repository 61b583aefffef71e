"""Connector registry: ``CONNECTORS`` maps a platform id to its connector class.

The platform catalog itself (names, units, key hints, file-only platforms) is
``svccommon.platforms``, shared with the gateway and keyvault; it is re-exported here.
"""

from __future__ import annotations

from typing import Any

from svccommon.platforms import PLATFORMS, Platform, get_platform, list_platforms

from .anthropic_admin import AnthropicConnector
from .aws_bedrock import AwsBedrockConnector
from .azure_openai import AzureOpenAIConnector
from .base import (
    Connector,
    ConnectorError,
    DayResult,
    HttpClient,
    InvalidCredential,
    ProviderRejected,
    ProviderUnavailable,
    UnexpectedShape,
    base_url_for,
)
from .deepgram import DeepgramConnector
from .elevenlabs import ElevenLabsConnector
from .google_vertex import GoogleVertexConnector
from .openai_admin import OpenAIConnector
from .openrouter import OpenRouterConnector

__all__ = [
    "CONNECTORS",
    "PLATFORMS",
    "Platform",
    "Connector",
    "ConnectorError",
    "DayResult",
    "HttpClient",
    "InvalidCredential",
    "ProviderRejected",
    "ProviderUnavailable",
    "UnexpectedShape",
    "base_url_for",
    "connector_for",
    "get_platform",
    "list_platforms",
]

CONNECTORS: dict[str, type[Connector]] = {
    cls.platform: cls
    for cls in (
        OpenAIConnector,
        AnthropicConnector,
        ElevenLabsConnector,
        OpenRouterConnector,
        DeepgramConnector,
        AwsBedrockConnector,
        AzureOpenAIConnector,
        GoogleVertexConnector,
    )
}


def connector_for(platform_id: str, **kwargs: Any) -> Connector:
    """Build the connector for a key-based platform (kwargs go to its constructor)."""
    cls = CONNECTORS.get(platform_id)
    if cls is None:
        raise KeyError(f"platform {platform_id!r} has no API connector")
    return cls(**kwargs)
