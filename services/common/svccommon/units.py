"""The one set of usage units every connector and billing-file parser stores (docs/providers.md).

A record's ``units`` maps these names to whole counts. A name means the same thing whatever the
platform or the source, so counts from different providers can be added up.

Tokens. Providers count input differently (OpenAI's ``input_tokens`` include cached and
cache-write tokens; Anthropic's ``input_tokens`` are the uncached ones only), so no unit here is
called plain ``input_tokens``. The five ADDITIVE token units never overlap: their sum is every
token billed. The DETAIL units break one of them down further and are already counted in it:
never add them to a total.

Legacy names. Records stored before these names existed carry ``input_tokens``,
``cached_input_tokens``, ``cache_write_input_tokens`` and ``operations`` with a meaning that
depended on the platform. They are not rewritten in the database; ``canonical_units`` translates
them whenever records or day rollups are read, so old and new records add up under one name.
"""

from __future__ import annotations

from collections.abc import Mapping

# --- tokens that add up (each token is in exactly one) ------------------------------------------
INPUT_UNCACHED_TOKENS = "input_uncached_tokens"  # input neither read from nor written to a cache
CACHE_READ_TOKENS = "cache_read_tokens"  # input served from a prompt cache
CACHE_WRITE_TOKENS = "cache_write_tokens"  # input written to a prompt cache (all lifetimes)
INPUT_UNSPLIT_TOKENS = "input_unsplit_tokens"  # all input, where the provider gives no cache split
OUTPUT_TOKENS = "output_tokens"  # all output, reasoning and audio/image output included

ADDITIVE_TOKEN_UNITS = (
    INPUT_UNCACHED_TOKENS,
    CACHE_READ_TOKENS,
    CACHE_WRITE_TOKENS,
    INPUT_UNSPLIT_TOKENS,
    OUTPUT_TOKENS,
)

# --- token details: a part of one additive unit above, never added to a total -------------------
INPUT_AUDIO_TOKENS = "input_audio_tokens"  # part of input_uncached_tokens (OpenAI)
INPUT_IMAGE_TOKENS = "input_image_tokens"  # part of input_uncached_tokens (OpenAI)
OUTPUT_AUDIO_TOKENS = "output_audio_tokens"  # part of output_tokens (OpenAI)
OUTPUT_IMAGE_TOKENS = "output_image_tokens"  # part of output_tokens (OpenAI)
REASONING_TOKENS = "reasoning_tokens"  # part of output_tokens (OpenRouter)

DETAIL_TOKEN_UNITS: Mapping[str, str] = {
    INPUT_AUDIO_TOKENS: INPUT_UNCACHED_TOKENS,
    INPUT_IMAGE_TOKENS: INPUT_UNCACHED_TOKENS,
    OUTPUT_AUDIO_TOKENS: OUTPUT_TOKENS,
    OUTPUT_IMAGE_TOKENS: OUTPUT_TOKENS,
    REASONING_TOKENS: OUTPUT_TOKENS,
}

# --- everything else ---------------------------------------------------------------------------
REQUESTS = "requests"  # model requests (API calls to a model)
CHARACTERS = "characters"  # text characters billed (text-to-speech input)
CREDITS = "credits"  # provider credits spent (ElevenLabs bills every product in credits)
SECONDS = "seconds"  # audio duration processed
AGENT_SECONDS = "agent_seconds"  # voice-agent session time (Deepgram)
IMAGES = "images"  # images generated
WEB_SEARCH_CALLS = "web_search_calls"  # web searches run by a model's search tool
FILE_SEARCH_CALLS = "file_search_calls"  # file searches run by a model's search tool
CODE_INTERPRETER_SESSIONS = "code_interpreter_sessions"
VECTOR_STORE_BYTES = "vector_store_bytes"  # bytes stored (a daily level, not a sum of uses)
OPERATIONS = "operations"  # other billed operations a billing file names without saying which

OTHER_UNITS = (
    REQUESTS,
    CHARACTERS,
    CREDITS,
    SECONDS,
    AGENT_SECONDS,
    IMAGES,
    WEB_SEARCH_CALLS,
    FILE_SEARCH_CALLS,
    CODE_INTERPRETER_SESSIONS,
    VECTOR_STORE_BYTES,
    OPERATIONS,
)
ALL_UNITS = frozenset((*ADDITIVE_TOKEN_UNITS, *DETAIL_TOKEN_UNITS, *OTHER_UNITS))

# --- legacy names (records stored before this module) ------------------------------------------
LEGACY_INPUT_TOKENS = "input_tokens"
LEGACY_CACHED_INPUT_TOKENS = "cached_input_tokens"
LEGACY_CACHE_WRITE_INPUT_TOKENS = "cache_write_input_tokens"
LEGACY_UNITS = frozenset(
    {LEGACY_INPUT_TOKENS, LEGACY_CACHED_INPUT_TOKENS, LEGACY_CACHE_WRITE_INPUT_TOKENS, OPERATIONS}
)
# What a legacy ``operations`` count was, per platform: Anthropic's connector and usage export
# stored web searches there, OpenAI's connector code-interpreter sessions.
_LEGACY_OPERATIONS = {"anthropic": WEB_SEARCH_CALLS, "openai": CODE_INTERPRETER_SESSIONS}


def has_legacy_units(units: Mapping[str, int]) -> bool:
    return not LEGACY_UNITS.isdisjoint(units)


def canonical_units(platform: str, units: Mapping[str, int]) -> dict[str, int]:
    """``units`` with legacy names translated (a copy; canonical names pass through unchanged).

    - ``cached_input_tokens`` -> ``cache_read_tokens``; ``cache_write_input_tokens`` ->
      ``cache_write_tokens`` (they meant that on every platform).
    - ``input_tokens``: on OpenAI, records that also count ``requests`` came from the usage API or
      the usage export, whose input includes cached and cache-write tokens, so those are taken
      off; OpenAI records without ``requests`` (the cost export's "input" line) were uncached
      already. On OpenRouter it is ``input_unsplit_tokens``. Everywhere else it was uncached.
    - ``operations`` -> ``web_search_calls`` (Anthropic) or ``code_interpreter_sessions``
      (OpenAI); on other platforms it stays ``operations``.
    """
    if not has_legacy_units(units):
        return dict(units)
    out = {k: v for k, v in units.items() if k not in LEGACY_UNITS}
    cache_read = units.get(LEGACY_CACHED_INPUT_TOKENS, 0)
    cache_write = units.get(LEGACY_CACHE_WRITE_INPUT_TOKENS, 0)
    if LEGACY_CACHED_INPUT_TOKENS in units:
        _add(out, CACHE_READ_TOKENS, cache_read)
    if LEGACY_CACHE_WRITE_INPUT_TOKENS in units:
        _add(out, CACHE_WRITE_TOKENS, cache_write)
    if LEGACY_INPUT_TOKENS in units:
        count = units[LEGACY_INPUT_TOKENS]
        if platform == "openrouter":
            _add(out, INPUT_UNSPLIT_TOKENS, count)
        elif platform == "openai" and REQUESTS in units:
            _add(out, INPUT_UNCACHED_TOKENS, max(0, count - cache_read - cache_write))
        else:
            _add(out, INPUT_UNCACHED_TOKENS, count)
    if OPERATIONS in units:
        _add(out, _LEGACY_OPERATIONS.get(platform, OPERATIONS), units[OPERATIONS])
    return out


def _add(units: dict[str, int], name: str, count: int) -> None:
    units[name] = units.get(name, 0) + count
