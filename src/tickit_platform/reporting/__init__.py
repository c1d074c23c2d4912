"""`tickit report`: one self-contained HTML page (and its PNG charts) about the last run and its warehouse."""
