"""The ``fullpicture`` command line: a thin layer over the capabilities' services."""
