"""Ingestion: folders of documents -> chunks with provenance -> vectors in Qdrant."""
