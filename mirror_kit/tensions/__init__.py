"""tensions (issue 8)."""
