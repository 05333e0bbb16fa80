"""Shared core of ragdesk: settings, the Qdrant store, embeddings, retrieval, answers."""
