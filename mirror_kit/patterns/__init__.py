"""patterns (issue 7)."""
