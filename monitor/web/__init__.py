"""The analyst's desk."""
