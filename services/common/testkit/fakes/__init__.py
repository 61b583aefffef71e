"""Fake provider servers for connector, service and end-to-end tests.

Each fake serves the documented response shapes from data the test loads, so
the test knows the exact totals. See ``base.FakeProviderServer`` for failure
injection (``rate_limit``, ``unavailable``, ``fail``, ``serve_raw``) and for
``tenant()`` (independent data sets on one shared server).
"""

from .anthropic_admin import FakeAnthropic
from .aws_cost_explorer import CostRow, FakeCostExplorer
from .azure_cost_management import AzureCostRow, FakeAzureCostManagement
from .base import FakeProviderServer, SeenRequest
from .deepgram import FakeDeepgram
from .elevenlabs import FakeElevenLabs
from .google_bigquery import BillingRow, FakeBigQuery
from .helpers import SleepRecorder
from .openai_admin import FakeOpenAI
from .openrouter import FakeOpenRouter
from .suite import FAST_RETRY_ENV, ProviderFakes

__all__ = [
    "AzureCostRow",
    "BillingRow",
    "CostRow",
    "FakeAzureCostManagement",
    "FakeBigQuery",
    "FakeCostExplorer",
    "FAST_RETRY_ENV",
    "FakeAnthropic",
    "FakeDeepgram",
    "FakeElevenLabs",
    "FakeOpenAI",
    "FakeOpenRouter",
    "FakeProviderServer",
    "ProviderFakes",
    "SeenRequest",
    "SleepRecorder",
]
