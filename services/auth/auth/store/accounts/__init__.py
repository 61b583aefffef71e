"""The `accounts` collection, the only code that writes it, by facet: the account itself (sign-up,
verification, password, 2FA, profile: `profile`), its billing fields and plan (`billing`), and
the keyvault ciphertexts it holds, for re-encryption (`secrets`)."""

from auth.store.accounts.billing import BillingFields
from auth.store.accounts.profile import AccountStore
from auth.store.accounts.secrets import EncryptedFields

__all__ = ["AccountStore", "BillingFields", "EncryptedFields"]
