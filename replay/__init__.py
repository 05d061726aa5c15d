"""The what-if replay: historic orders through a baseline and a candidate set of pack versions.

Modules, one concept each: ``specs`` (which versions a side runs), ``shared`` (steps both
sides decide once), ``orders`` (orders in and out), ``decide`` (one order through both
sides), ``pool`` (batches in input order on processes), ``run`` (the replay proper),
``tally`` (counts and the summary), ``markdown`` and ``html_report`` (the reports),
``history`` (importers of real history), ``cli`` (``simulate.py`` and ``arbiter simulate``).
The replay depends on ``engine`` and ``rules`` only.
"""
