"""Local development stack: generated secrets, the embedded database, and the process runner."""
