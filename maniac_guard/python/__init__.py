"""Analysis, on the standard library's `ast`, of Python code that hands keys
to the Maniac SDK (rules MG2xx).

Nothing here is imported at start-up: the detector imports it only when a
Python file or notebook passes the byte-level prefilter.
"""
