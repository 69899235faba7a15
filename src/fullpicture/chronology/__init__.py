"""Chronology entries (events) from every agency, and the concern taxonomy they are coded by."""
