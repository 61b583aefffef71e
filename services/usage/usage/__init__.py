"""The usage service."""
