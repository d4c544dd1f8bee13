"""stackrun api routes package."""
