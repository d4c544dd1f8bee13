"""stackrun api package."""
