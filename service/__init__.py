"""streetscan service: observations -> deduplicated cases -> review (FastAPI + SQLModel)."""
