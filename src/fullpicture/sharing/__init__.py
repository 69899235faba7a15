"""Sharing decisions: what was shared about a child, with whom, on what lawful basis, and
why not when it was not (research-notes §2.1; existing-systems.md §5).

Recorded shares widen the need-to-know rule: connected at start-up by
``fullpicture.wiring.connect_capabilities``.
"""
