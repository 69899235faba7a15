"""Workflow: cases with a lead practitioner and level of need, statutory timescales in working
days, drift, and escalation of professional disagreement (research-notes §2.2, §4, §5).

Open cases widen the need-to-know rule, and "child seen elsewhere" is a step of the one
ingest flow: both are connected at start-up by ``fullpicture.wiring.connect_capabilities``.
"""
