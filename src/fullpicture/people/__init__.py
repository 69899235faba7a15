"""Source records as agencies hold them, linked persons, and households over time."""
