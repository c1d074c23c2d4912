"""The seven tickit files: their formats (one source of truth), download, synthetic generation, and
making them readable by the PostgreSQL server that loads them."""
