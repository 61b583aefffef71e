"""Keyvault: envelope encryption of customer AI-provider API keys (A256CBC-HS512)."""
