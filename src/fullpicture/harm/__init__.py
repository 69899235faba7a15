"""Cumulative harm: scoring each child's chronology over time and raising alerts that carry their evidence.

Importing the package plugs routed alerts into the need-to-know rule (the agency an alert is
routed to is involved with its child, so it can read the evidence and decide).
"""

from fullpicture.access import repository as _access_repository
from fullpicture.harm import repository as _harm_repository

_access_repository.register_involvement_source(_harm_repository.involved_through_alerts)
