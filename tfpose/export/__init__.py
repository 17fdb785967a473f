"""Export of trained models for deployment."""
