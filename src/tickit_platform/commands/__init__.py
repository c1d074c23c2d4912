"""The `tickit` commands, one module per command group: each adds its parsers and does its work through
the package's modules; `cli.py` only builds the parser from them and dispatches."""
