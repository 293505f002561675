"""The HTTP API edge: assembles the FastAPI app from the domain routers, with error handling,
request limits, metrics and health."""

from portguard.api.factory import create_api

__all__ = ["create_api"]
