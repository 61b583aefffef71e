"""auth's clients of the other services it calls (keyvault: sealing TOTP secrets)."""
