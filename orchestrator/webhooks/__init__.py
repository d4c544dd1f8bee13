"""stackrun webhooks package."""
