"""`python -m orchestrator.cli …`: what the `stackrun` command runs."""

from orchestrator.cli import main

main()
