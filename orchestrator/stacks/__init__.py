"""Stack rows and what is stored about them."""
