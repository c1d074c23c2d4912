"""Reading the built warehouse back: rows per layer, the gold views, the load's counts and quarantine,
data-test outcomes and freshness; everything a finished run shows, in one read (`figures.py`)."""
