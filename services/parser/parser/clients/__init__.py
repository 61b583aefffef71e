"""The parser's clients of the other services it calls (usage: importing records)."""
