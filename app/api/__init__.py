"""ragdesk's HTTP API (`ragdesk serve-api`): FastAPI on uvicorn, bearer keys per user,
the chat's answer path, admission control and conversation store."""
