"""The supervision server: a FastAPI application over the services the CLI uses."""
