"""figures, explorer and reports (issue 9)."""
