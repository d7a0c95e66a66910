"""journal import (issue 3)."""
