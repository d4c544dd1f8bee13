"""stackrun runs package."""
