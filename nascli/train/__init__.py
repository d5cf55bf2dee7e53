"""The one training engine used by every stage."""
