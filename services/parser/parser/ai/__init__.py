"""OpenAI structured extraction (Professional plan)."""
