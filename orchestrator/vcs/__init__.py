"""stackrun vcs package."""
