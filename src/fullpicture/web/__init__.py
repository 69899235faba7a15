"""The web app and REST API: a thin layer over the capabilities' services."""
