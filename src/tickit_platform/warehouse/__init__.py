"""Reading the built warehouse back: row counts per layer and the top rows of the gold views."""
