"""stackrun secrets package."""
