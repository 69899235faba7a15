"""Who writes a referral, read from its text, so that one agency named in it can be told to be
the writer's own or another's.

R11 (other agencies involved) is *partial* when the only service involved is the writer's own
(the annotation guide, and the blind re-reading of R11): a hospital referral naming its ward and
its paediatrician names one agency, not two. The writer says who they are in a few places: the
heading ("Referral from Maternity Assessment Unit"), a labelled line ("From:", "Referrer:",
"Caller:"), a sentence ("I am the DSL at …", "call from Dale Hughes, DSL, Riverside Juniors"),
"our nursery", and the signature block. The patterns are data (``writer_agency`` in
``referral_standard.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fullpicture.referrals.rulebook import WriterAgencyRule
from fullpicture.referrals.spans import TextSpan


@dataclass(frozen=True)
class Writer:
    """Where the text says who writes it (``said_by``) and who receives it (``recipient``), and
    whether the writer is a member of the public (then no agency is their own)."""

    said_by: tuple[TextSpan, ...]
    recipient: tuple[TextSpan, ...]
    public: bool
    signposted: tuple[TextSpan, ...] = ()
    #: The agency cue kinds of the writer's agency when the caller knows it (a signed-in
    #: practitioner's agency), beside what the text says.
    given_kinds: frozenset[str] = frozenset()
    #: The caller named the writer's agency (of a kind the cues may not know: a charity).
    agency_given: bool = False

    def names_writer(self, span: TextSpan) -> bool:
        return _inside(span, self.said_by)

    def names_recipient(self, span: TextSpan) -> bool:
        return _inside(span, self.recipient)

    def signposts(self, span: TextSpan) -> bool:
        return _inside(span, self.signposted)


def _inside(span: TextSpan, regions: tuple[TextSpan, ...]) -> bool:
    return any(r.start <= span.start and span.end <= r.end for r in regions)


@dataclass(frozen=True)
class _Compiled:
    writer_lines: re.Pattern[str]
    writer_phrases: re.Pattern[str]
    own_service: re.Pattern[str]
    recipient_lines: re.Pattern[str]
    recipient_phrases: re.Pattern[str]
    signposting: re.Pattern[str]
    heading_recipient: re.Pattern[str]
    not_a_heading: re.Pattern[str]
    public: re.Pattern[str]


def _compiled(rule: WriterAgencyRule) -> _Compiled:
    # Keyed by the rule object (frozen, but with a mapping, so not hashable); kept with it so
    # that a freed rule's id is never mistaken for a new one's.
    cached = _COMPILED.get(id(rule))
    if cached is not None and cached[0] is rule:
        return cached[1]
    compiled = _compile(rule)
    if len(_COMPILED) >= 4:
        _COMPILED.clear()
    _COMPILED[id(rule)] = (rule, compiled)
    return compiled


_COMPILED: dict[int, tuple[WriterAgencyRule, _Compiled]] = {}


def _compile(rule: WriterAgencyRule) -> _Compiled:
    def either(expressions: tuple[str, ...]) -> re.Pattern[str]:
        # Written in lower case and run on the lower-cased text: re.IGNORECASE makes these
        # scans about twice as slow.
        return re.compile("|".join(f"(?:{e})" for e in expressions), re.MULTILINE)

    return _Compiled(
        writer_lines=either(rule.writer_lines),
        writer_phrases=either(rule.writer_phrases),
        own_service=re.compile(rule.own_service),
        recipient_lines=either(rule.recipient_lines),
        recipient_phrases=either(rule.recipient_phrases),
        signposting=either(rule.signposting),
        heading_recipient=re.compile(rule.heading_recipient, re.IGNORECASE),
        not_a_heading=re.compile(rule.not_a_heading, re.IGNORECASE),
        public=re.compile(rule.public, re.IGNORECASE),
    )


_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")


def find_writer(text: str, rule: WriterAgencyRule, *, agency_kind: str | None = None) -> Writer:
    patterns = _compiled(rule)
    said_by: list[TextSpan] = []
    recipient: list[TextSpan] = []

    def region(start: int, end: int, into: list[TextSpan]) -> None:
        if end > start:
            into.append(TextSpan(start, end, text[start:end]))

    lowered = text.lower()
    if len(lowered) != len(text):  # a letter whose lower case is longer ('İ'): keep offsets
        lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    heading = _first_line(text)
    if (
        heading is not None
        and len(heading.text) <= rule.heading_max_chars
        # A sentence is not a heading ("Maya was admitted to the ward yesterday.").
        and not heading.text.rstrip().endswith((".", "!", "?"))
        and not patterns.not_a_heading.match(heading.text)
    ):
        turn = patterns.heading_recipient.search(heading.text)
        cut = heading.start + turn.start() if turn else heading.end
        region(heading.start, cut, said_by)
        region(cut, heading.end, recipient)
    for match in patterns.writer_lines.finditer(lowered):
        region(match.start(), _line_end(text, match.start()), said_by)
    for match in patterns.recipient_lines.finditer(lowered):
        region(match.start(), _line_end(text, match.start()), recipient)
    for match in patterns.recipient_phrases.finditer(lowered):
        region(match.start(), match.end(), recipient)
    signposted: list[TextSpan] = []
    for match in patterns.signposting.finditer(lowered):
        stop = _SENTENCE_END.search(text, match.end())
        region(
            match.start(), min(stop.start() if stop else len(text), match.end() + 80), signposted
        )
    for match in patterns.writer_phrases.finditer(lowered):
        stop = _SENTENCE_END.search(text, match.end())
        region(match.start(), stop.start() if stop else len(text), said_by)
    signature = _signature(text, rule)
    if signature is not None:
        said_by.append(signature)
    # A member of the public says so where they say who they are ("Caller: neighbour", "I'm
    # her aunt"); their "our school" is the child's school, not an agency of theirs.
    public = agency_kind is None and any(patterns.public.match(span.text) for span in said_by)
    if not public:
        for match in patterns.own_service.finditer(lowered):
            region(match.start(), match.end(), said_by)
    return Writer(
        said_by=tuple(said_by),
        recipient=tuple(recipient),
        public=public,
        signposted=tuple(signposted),
        given_kinds=frozenset(rule.agency_kinds.get(agency_kind, ()))
        if agency_kind
        else frozenset(),
        agency_given=agency_kind is not None,
    )


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _first_line(text: str) -> TextSpan | None:
    start = len(text) - len(text.lstrip())
    if start >= len(text):
        return None
    end = _line_end(text, start)
    return TextSpan(start, end, text[start:end])


def _signature(text: str, rule: WriterAgencyRule) -> TextSpan | None:
    """The last paragraph when it is a short block of short lines (a name, role, team, phone)
    set apart by a blank line; else, in a last paragraph that runs on, a sign-off ("Thanks",
    "Kind regards") and the short lines after it. A bullet list's last lines are not a
    signature."""
    end = len(text.rstrip())
    position = end
    kept: list[tuple[int, str]] = []
    set_apart = False
    while True:
        line_start = text.rfind("\n", 0, position) + 1
        line = text[line_start:position].strip()
        if not line:
            set_apart = True
            break
        if (
            len(kept) == rule.signature_max_lines
            or len(line) > rule.signature_max_chars
            or line.startswith(("-", "•", "*"))
            or (line.endswith(".") and len(line.split()) > 6)
        ):
            break
        kept.append((line_start, line))
        if line_start == 0:
            set_apart = True
            break
        position = line_start - 1
    if not kept:
        return None
    if not set_apart:
        sign_off = [start for start, line in kept if _SIGN_OFF.match(line)]
        if not sign_off:
            return None
        kept = [(start, line) for start, line in kept if start >= sign_off[0]]
    start = kept[-1][0]
    return TextSpan(start, end, text[start:end])


_SIGN_OFF = re.compile(
    r"^(?:thanks|thank you|many thanks|best|best wishes|kind regards|regards|yours|cheers)\b",
    re.IGNORECASE,
)


__all__ = ["Writer", "find_writer"]
