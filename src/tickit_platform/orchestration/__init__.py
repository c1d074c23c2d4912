"""What the DAG needs at parse and run time, and nothing else: its configuration, the Cosmos DAG
factory and the model task. This folder ships to MWAA; the local launcher lives in `local/`."""
