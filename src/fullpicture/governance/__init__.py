"""Information governance: what the partnership owes the people it holds data about.

Subject access (a person's right to what an agency holds about them, with the exemptions for
child-abuse data) and retention (archiving an agency's record once it has been closed for the
configured period). Both read a person's whole record across capabilities, through the
need-to-know rule, so they sit above chronology and access rather than inside access.
"""
