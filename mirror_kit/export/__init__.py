"""export, backup and restore (issue 5)."""
