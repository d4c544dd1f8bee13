"""Stack variables and contexts: configuration and secrets handed to runs."""
