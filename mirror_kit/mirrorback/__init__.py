"""mirrorbacks (issue 6)."""
