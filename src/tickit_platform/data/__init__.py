"""The seven tickit files: their formats (one source of truth), download and synthetic generation."""
