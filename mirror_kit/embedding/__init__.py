"""embeddings (issue 4)."""
