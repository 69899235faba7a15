"""Sharing decisions: what was shared about a child, with whom, on what lawful basis, and
why not when it was not (research-notes §2.1; existing-systems.md §5).

Importing the package plugs recorded shares into the need-to-know rule.
"""

from fullpicture.access import repository as _access_repository
from fullpicture.sharing import repository as _sharing_repository

_access_repository.register_shared_event_source(_sharing_repository.shared_entries_for)
_access_repository.register_read_grounds_source(_sharing_repository.decisions_giving_access)
