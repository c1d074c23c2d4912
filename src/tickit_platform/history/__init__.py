"""Run history: the kept runs (`tickit runs`), their trends in the report, and the data figures each run records."""
