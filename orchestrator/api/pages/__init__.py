"""The web UI's routes: thin, like the API's — resolve the input, call the services the API
calls, render a template (`orchestrator/ui` holds what each page shows)."""
