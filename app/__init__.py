"""User-facing front ends: the `ragdesk` command (and, later, the Streamlit chat)."""
