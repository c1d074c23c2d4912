"""`tickit report`: one self-contained HTML page (and its PNG charts) about a run and its warehouse,
drawn from the run record and the run's summary that history/ keeps; it never imports the launcher."""

import logging

# matplotlib's one-time "building the font cache" notice is a warning nobody can act on, printed into a
# run's summary the first time charts are drawn on a machine. Set before chart_style.py imports pyplot; font
# errors still show.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
