"""AICosts auth service: accounts, sessions, 2FA and token issuing."""
