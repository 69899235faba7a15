"""The referral checker's rules, read from versioned data files a partnership can edit.

Four files sit beside this module; each has a ``version`` and is validated by the schemas here,
so a mistake in an edited file fails loudly with the file and field named:

- ``referral_standard.yaml`` — the 20 elements R1–R20 (referral-standard.md), their cues,
  when each is present or partial, the question to ask, weights, R19/R20 thresholds;
- ``vague_lexicon.yaml`` — the vague-language lexicon by kind with its question (research-notes §8);
- ``concern_cues.yaml`` — cues that map free text to taxonomy codes (concern-taxonomy.md);
- ``language_cues.yaml`` — negation and hypothetical triggers, speech verbs, child and adult
  terms, and the date/time patterns of the entity ruler.
"""

from __future__ import annotations

import enum
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fullpicture.core.rule_files import load_rules_text

RULES_DIR = Path(__file__).resolve().parent
STANDARD_FILE = RULES_DIR / "referral_standard.yaml"
VAGUE_FILE = RULES_DIR / "vague_lexicon.yaml"
CONCERN_FILE = RULES_DIR / "concern_cues.yaml"
LANGUAGE_FILE = RULES_DIR / "language_cues.yaml"

_M = TypeVar("_M", bound=BaseModel)

ELEMENT_IDS = tuple(f"R{n}" for n in range(1, 21))

ElementStatus = Literal["present", "partial", "absent"]


class RulebookError(ValueError):
    """A rule file is malformed; the message names the file and what is wrong."""


class Polarity(enum.StrEnum):
    """Whether a matched phrase is asserted, denied ("no concerns about …") or supposed ("if mum drinks")."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    HYPOTHETICAL = "hypothetical"


TokenPattern = list[dict[str, Any]]


class Cue(BaseModel):
    """One way of recognising something in text: phrases, spaCy token patterns or regexes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    phrases: tuple[str, ...] = ()
    patterns: tuple[TokenPattern, ...] = ()
    regex: tuple[str, ...] = ()
    case_sensitive: bool = False
    counts_when: tuple[Polarity, ...] = (Polarity.AFFIRMED, Polarity.NEGATED)
    outside_quotes: bool = False
    # True: a match in a sentence that ends with a question mark does not count. A question
    # asks for what it names ("Where is the child now / safe tonight?", a form's prompt left
    # unanswered) and says nothing of it.
    outside_questions: bool = False
    # False: a match straight after a denial word (language_cues ``denial_words``: "he isn't
    # [well cared for]") does not count, whatever the sentence's wider negation scope says
    # ("No marks seen, well cared for" still counts).
    counts_denied_in_place: bool = True
    # "child": what the cue describes must be the child's. A match said of an adult or the
    # writer straight before it, past linking words (language_cues ``state_links``: "mum was
    # upset", "Ava's dad is exhausted", "I was upset"), does not count; said of the child, of
    # a pronoun, or of no one (a list of what was seen), it does.
    whose: Literal["child"] | None = None
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)

    @field_validator("regex")
    @classmethod
    def _regexes_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for expression in value:
            try:
                re.compile(expression)
            except re.error as exc:
                raise ValueError(f"regex {expression!r} does not compile: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _has_something_to_match(self) -> Cue:
        if not (self.phrases or self.patterns or self.regex):
            raise ValueError(f"cue {self.id} has no phrases, patterns or regex")
        return self


Condition = tuple[str, ...]
"""Groups that must all be satisfied; ``!group`` means the group must NOT be satisfied."""


class ElementRule(BaseModel):
    """One element of the referral standard and how the checker decides its status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    source: str
    weight: float = Field(ge=0)
    question: str
    groups: dict[str, tuple[Cue, ...]] = Field(default_factory=dict)
    present_when: tuple[Condition, ...]
    partial_when: tuple[Condition, ...] = ()
    partial_questions: dict[str, str] = Field(
        default_factory=dict, description="group missing -> the narrower question to ask"
    )
    # Where the groups of an ``a&b`` term must be found together: in one sentence, or in one
    # clause of it (a semicolon ends a clause: "Mia is currently in school; her grandmother
    # usually collects her" is two statements).
    together_within: Literal["sentence", "clause"] = "sentence"

    @cached_property
    def together(self) -> tuple[str, ...]:
        """The ``a&b`` terms of the conditions: groups that must be found in one sentence."""
        names = {
            term.removeprefix("!").split("*", 1)[0]
            for condition in (*self.present_when, *self.partial_when)
            for term in condition
        }
        return tuple(sorted(name for name in names if "&" in name))


class DensityBands(BaseModel):
    """R19: vague phrases per 100 words at or below which the element is present / partial."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    present_at_most: float = Field(ge=0)
    partial_at_most: float = Field(ge=0)


class TimelinessRule(BaseModel):
    """R20: the gap, in England working days, from the latest event to the referral."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_working_days: int = Field(ge=0)
    urgent_severity: int = Field(ge=1, le=5)
    history_days: int = Field(
        default=14,
        ge=1,
        description=(
            "R9's dated history: events on two or more days before the referral, the earliest at "
            "least this many days back, are a history of earlier concerns"
        ),
    )
    not_an_event: tuple[str, ...] = Field(
        default=(),
        description=(
            "regexes matched against the text from the start of the line up to a date: when one "
            "matches, the date is when the referral was written or sent (a form's 'Date:' line, "
            "'I am writing today'), not when something happened, so it does not make R20 present"
        ),
    )

    @field_validator("not_an_event")
    @classmethod
    def _compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for expression in value:
            try:
                re.compile(expression)
            except re.error as exc:
                raise ValueError(f"regex {expression!r} does not compile: {exc}") from exc
        return value


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_characters: int = Field(ge=100)
    min_words_for_language_check: int = Field(ge=1)
    min_english_function_word_share: float = Field(ge=0, le=1)
    max_non_latin_letter_share: float = Field(ge=0, le=1)


class CrossCheckRules(BaseModel):
    """Windows and codes for the record cross-checks (referral-standard R9, R10, R11)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    history_months: int = Field(ge=1)
    agency_months: int = Field(ge=1)
    adult_factor_months: int = Field(ge=1)
    history_process_codes: tuple[str, ...]
    history_plan_prefix: str
    adult_factor_codes: tuple[str, ...]
    agency_words: dict[str, tuple[str, ...]]


class StatusCredit(BaseModel):
    """How much of an element's weight each status earns in the score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    present: float = Field(ge=0, le=1)
    partial: float = Field(ge=0, le=1)
    absent: float = Field(ge=0, le=1)

    def of(self, status: ElementStatus) -> float:
        return float(getattr(self, status))


class WriterAgencyRule(BaseModel):
    """Where a referral says who writes it, so that an element can tell the writer's own agency
    from another (R11: only the writer's own service involved is partial). Case-insensitive
    regexes, read by ``writer_agency.find_writer``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    element: str
    group: str
    writer_lines: tuple[str, ...] = Field(
        description="a line that names the writer from its start ('From:', 'Referrer:')"
    )
    writer_phrases: tuple[str, ...] = Field(
        description="words that name the writer to the end of their sentence ('I am the ...')"
    )
    own_service: str = Field(description="words before a service that make it the writer's ('our')")
    recipient_lines: tuple[str, ...] = Field(
        description="a line addressed to the recipient ('Dear ...', 'To:'); its agencies are theirs"
    )
    recipient_phrases: tuple[str, ...] = Field(
        default=(),
        description="words that name the recipient in a sentence ('for CSC consideration')",
    )
    signposting: tuple[str, ...] = Field(
        default=(),
        description="advice to go to a service, to the end of its sentence: not involvement",
    )
    heading_recipient: str = Field(
        description="where a heading turns to its recipient ('REFERRAL TO CHILDREN'S SERVICES')"
    )
    not_a_heading: str = Field(description="a first line that is not the writer's heading")
    heading_max_chars: int = Field(ge=10, description="a longer first line is not a heading")
    public: str = Field(description="words for a writer who is a member of the public")
    agency_kinds: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="an agency's kind (AgencyKind) -> the agency cues that are that kind's own",
    )
    signature_max_lines: int = Field(ge=1)
    signature_max_chars: int = Field(ge=10)

    @field_validator(
        "writer_lines", "writer_phrases", "recipient_lines", "recipient_phrases", "signposting"
    )
    @classmethod
    def _regexes_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for expression in value:
            re.compile(expression)
        return value


class ReferralStandard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    source: str
    elements: dict[str, ElementRule]
    status_credit: StatusCredit
    urgent_elements: tuple[str, ...]
    r19_density: DensityBands
    r20_timeliness: TimelinessRule
    limits: Limits
    cross_checks: CrossCheckRules
    writer_agency: WriterAgencyRule | None = None

    @field_validator("elements")
    @classmethod
    def _all_twenty(cls, value: dict[str, ElementRule]) -> dict[str, ElementRule]:
        missing = set(ELEMENT_IDS) - set(value)
        extra = set(value) - set(ELEMENT_IDS)
        if missing or extra:
            raise ValueError(
                f"elements must be exactly R1-R20 (missing {sorted(missing)}, unknown {sorted(extra)})"
            )
        return {key: value[key] for key in ELEMENT_IDS}

    @field_validator("urgent_elements")
    @classmethod
    def _urgent_are_elements(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in value if e not in ELEMENT_IDS]
        if unknown:
            raise ValueError(f"urgent_elements names unknown elements {unknown}")
        return value

    @model_validator(mode="after")
    def _conditions_name_known_groups(self) -> ReferralStandard:
        for element_id, rule in self.elements.items():
            for condition in (*rule.present_when, *rule.partial_when):
                for term in condition:
                    for name in term.removeprefix("!").split("*", 1)[0].split("&"):
                        if name not in rule.groups and not name.startswith(DERIVED_PREFIXES):
                            raise ValueError(
                                f"{element_id}: condition names unknown group {name!r}"
                            )
        return self


# Groups computed by the checker rather than matched from a cue list (documented in
# docs/referral-checker.md): vague phrases by kind, the child's quoted or reported speech,
# the dated-event timeliness of R20, the vague density of R19 and, for the element named in
# ``writer_agency``, its agency cues read as the writer's own or another's.
DERIVED_PREFIXES = ("vague:", "speech:", "timeliness:", "density:", "writer:")


VagueFamily = Literal["hedge", "unquantified", "unattributed", "reassurance", "label", "minimiser"]
VAGUE_FAMILIES: tuple[VagueFamily, ...] = (
    "hedge",
    "unquantified",
    "unattributed",
    "reassurance",
    "label",
    "minimiser",
)


class VagueGovernor(BaseModel):
    """Words or a phrase of another kind that, earlier in the same clause, take a vague phrase
    into their own reading: "I think he has [some needs]" is one guess (a hedge), not a guess and
    an amount; "Mother stated the [children are fine]" is the mother's account with its source,
    not the writer's reassurance. The clause runs back from the phrase to the nearest of
    ``VagueLexicon.clause_boundaries`` (or the sentence's start); with ``within_tokens``, at most
    that many tokens may stand between the governor and the phrase. ``before_kinds`` reads the
    other way, forward to the clause's end: "[probably] just a sprain" is a guess that the harm is
    small, one minimiser, not a hedge beside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cues: tuple[str, ...] = Field(
        default=(), description="this kind's cues it applies to (none: all of them)"
    )
    after_kinds: tuple[str, ...] = Field(
        default=(), description="a kept phrase of one of these kinds ends inside the clause"
    )
    after_cues: tuple[str, ...] = Field(
        default=(), description="only phrases found by these cues of after_kinds (none: any)"
    )
    after_words: tuple[str, ...] = Field(
        default=(), description="or one of these lower-case words is inside the clause"
    )
    before_kinds: tuple[str, ...] = Field(
        default=(), description="or a kept phrase of one of these kinds starts later in the clause"
    )
    before_cues: tuple[str, ...] = Field(
        default=(), description="only phrases found by these cues of before_kinds (none: any)"
    )
    within_tokens: int | None = Field(default=None, ge=0)
    unless_phrase_starts_with: tuple[str, ...] = Field(
        default=(),
        description=(
            "lower-case words: a phrase beginning with one of them is not governed ('seems a "
            "caring dad' judges the person; 'seems happy' is an impression of a state)"
        ),
    )
    reason: str

    @model_validator(mode="after")
    def _governs_by_something(self) -> VagueGovernor:
        if not (self.after_kinds or self.after_words or self.before_kinds):
            raise ValueError("a governor needs after_kinds, after_words or before_kinds")
        return self


class VagueDuration(BaseModel):
    """An amount of clock time is how long something took, not how often or how much of a
    concern: "answered after several minutes", "slept for a few hours"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amounts: tuple[str, ...] = Field(
        min_length=1, description="the amount words ('few', 'several')"
    )
    units: tuple[str, ...] = Field(min_length=1, description="the clock units ('minutes', 'hours')")


class VagueKind(BaseModel):
    """One kind of vague language, in one of the guide's six families, with the question it raises."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    family: VagueFamily
    question: str
    priority: int = Field(
        default=0,
        description=(
            "where phrases of two kinds overlap, the higher priority is kept (then the longer): "
            "a shape-only kind (an amount with no number) gives way to the label or minimiser "
            "it sits inside"
        ),
    )
    cues: tuple[Cue, ...]
    cleared_by_evidence: tuple[str, ...] = Field(
        default=(),
        description=(
            "ids of this kind's cues that are vague only with no concrete evidence in the same "
            "sentence (`VagueLexicon.evidence`): praise beside a weight and centile is an "
            "observation, not a reassurance"
        ),
    )

    governed_by: tuple[VagueGovernor, ...] = Field(
        default=(),
        description=(
            "what, earlier in the same clause, makes this kind's phrase part of another reading "
            "(an amount inside a guess is the guess; praise after 'she said' is her account)"
        ),
    )
    duration: VagueDuration | None = Field(
        default=None,
        description=(
            "a phrase whose amount counts one of these clock units (the unit inside the phrase "
            "or straight after it) is a duration, not vague"
        ),
    )
    ability: VagueDuration | None = Field(
        default=None,
        description=(
            "a phrase whose amount counts one of these words of language or speech (the word "
            "inside the phrase or straight after it: 'some English', 'a few words') describes "
            "what someone can say or understand, not an amount of concern"
        ),
    )
    cleared_by_listed_dates: int | None = Field(
        default=None,
        ge=1,
        description=(
            "a phrase is not vague when its clause (its sentence, or the part between "
            "semicolons) gives at least this many dates: the instances are listed"
        ),
    )

    @model_validator(mode="after")
    def _cleared_cues_exist(self) -> VagueKind:
        own = {cue.id for cue in self.cues}
        unknown = set(self.cleared_by_evidence) - own
        if unknown:
            raise ValueError(f"cleared_by_evidence names cues this kind does not have: {unknown}")
        for governor in self.governed_by:
            unknown = set(governor.cues) - own
            if unknown:
                raise ValueError(f"governed_by names cues this kind does not have: {unknown}")
        return self


class VagueEvidence(BaseModel):
    """What counts as concrete evidence beside a judgement: a quotation, a date or time, a number
    with a unit ("18 kg", "96 %", "50th centile") or a connective that gives the reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connectives: tuple[str, ...] = Field(min_length=1)
    units: tuple[str, ...] = Field(min_length=1)


# A word class is referred to as ``{LOWER: {IN: "@name"}}`` in a token pattern and as ``@{name}``
# in a regex; both are expanded to the class's words when the file is read.
_CLASS_IN_REGEX = re.compile(r"@\{([a-z_]+)\}")


class VagueLexicon(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    source: str
    word_classes: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="small closed classes of words (praise, carers, harms …) the patterns share",
    )
    evidence: VagueEvidence
    clause_boundaries: tuple[str, ...] = Field(
        default=(),
        description=(
            "punctuation and words that end a clause when a governor (VagueKind.governed_by) "
            "is looked for before a phrase"
        ),
    )
    kinds: dict[str, VagueKind]

    @model_validator(mode="after")
    def _governors_name_kinds(self) -> VagueLexicon:
        for name, kind in self.kinds.items():
            for governor in kind.governed_by:
                for kinds, named_cues in (
                    (governor.after_kinds, governor.after_cues),
                    (governor.before_kinds, governor.before_cues),
                ):
                    unknown = set(kinds) - set(self.kinds)
                    if unknown:
                        raise ValueError(f"{name}: governed_by names unknown kinds {unknown}")
                    cues = {c.id for k in kinds for c in self.kinds[k].cues}
                    unknown = set(named_cues) - cues
                    if unknown:
                        raise ValueError(f"{name}: governed_by names unknown cues {unknown}")
        return self

    @field_validator("word_classes")
    @classmethod
    def _classes_are_lower_case_words(
        cls, value: dict[str, tuple[str, ...]]
    ) -> dict[str, tuple[str, ...]]:
        for name, words in value.items():
            if not re.fullmatch(r"[a-z_]+", name) or not words:
                raise ValueError(f"word class {name!r}: a lower-case name and at least one word")
            upper = [w for w in words if w != w.lower() or not w.strip()]
            if upper:
                raise ValueError(f"word class {name!r}: words must be lower case: {upper}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _expand_word_classes(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("word_classes"), dict):
            return data
        classes: dict[str, list[str]] = {
            str(k): [str(w) for w in v or ()] for k, v in data["word_classes"].items()
        }

        def words_of(name: str) -> list[str]:
            if name not in classes:
                raise ValueError(f"unknown word class @{name} (known: {sorted(classes)})")
            return classes[name]

        def expand_token(token: Any) -> Any:
            if not isinstance(token, dict):
                return token
            lower = token.get("LOWER")
            if isinstance(lower, dict) and isinstance(lower.get("IN"), str):
                name = lower["IN"]
                if not name.startswith("@"):
                    raise ValueError(f"IN must be a list or a word class '@name', not {name!r}")
                token = {**token, "LOWER": {**lower, "IN": words_of(name[1:])}}
            for barred in ("NOT_FOLLOWED_BY", "NOT_PRECEDED_BY"):
                words = token.get(barred)
                if isinstance(words, str):
                    if not words.startswith("@"):
                        raise ValueError(f"{barred} must be a list or a word class '@name'")
                    token = {**token, barred: words_of(words[1:])}
            return token

        def expand_regex(expression: str) -> str:
            return _CLASS_IN_REGEX.sub(
                lambda m: (
                    "(?:"
                    + "|".join(
                        re.escape(w) for w in sorted(words_of(m.group(1)), key=len, reverse=True)
                    )
                    + ")"
                ),
                expression,
            )

        kinds = data.get("kinds")
        if isinstance(kinds, dict):
            for kind in kinds.values():
                for cue in (kind or {}).get("cues") or ():
                    if not isinstance(cue, dict):
                        continue
                    if cue.get("patterns"):
                        cue["patterns"] = [
                            [expand_token(t) for t in pattern]
                            if isinstance(pattern, list)
                            else pattern
                            for pattern in cue["patterns"]
                        ]
                    if cue.get("regex"):
                        cue["regex"] = [
                            expand_regex(r) if isinstance(r, str) else r for r in cue["regex"]
                        ]
        return data


class ConcernRule(BaseModel):
    """Cues for one taxonomy code; ``requires`` lists groups that must all be asserted in the text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cues: tuple[Cue, ...] = ()
    requires: dict[str, tuple[Cue, ...]] = Field(default_factory=dict)
    from_child_speech: bool = False
    child_speech_cues: tuple[Cue, ...] = Field(
        default=(), description="cues that count only inside the child's own quotation"
    )
    positive_cues: tuple[Cue, ...] = Field(
        default=(),
        description=(
            "statements that the matter is well (attendance 96 %, healing well): in the same "
            "sentence as one of this code's cues they make it a positive mention, not a concern"
        ),
    )

    @model_validator(mode="after")
    def _has_cues(self) -> ConcernRule:
        if not (self.cues or self.requires or self.from_child_speech):
            raise ValueError("a concern rule needs cues, requires or from_child_speech")
        return self


class ChildSpeechConfidence(BaseModel):
    """How sure a suggestion from the child's own words in quotation marks is (CHD-VOI)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    about_harm: float = Field(gt=0.0, lt=1.0)  # a concern or fear cue asserted inside the words
    otherwise: float = Field(gt=0.0, lt=1.0)  # no such cue: tentative, a practitioner reads them


class ConcernCues(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    taxonomy_version: str
    source: str
    codes: dict[str, ConcernRule]
    # Statements that read any concern cue in their sentence as positive or explained ("no
    # concerns", "account consistent with"), unless a blocker is in the same sentence
    # ("non-accidental", "inconsistent") or the code is one the guidance says to act on
    # whatever the explanation (research-notes §6.8).
    positive_statements: tuple[Cue, ...] = ()
    positive_blockers: tuple[Cue, ...] = ()
    positive_never_for: tuple[str, ...] = ()
    child_speech: ChildSpeechConfidence


class DateRegex(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: Literal["DATE", "TIME", "RECENT", "OLDER"]
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex {value!r} does not compile: {exc}") from exc
        return value


class DatePhrase(BaseModel):
    """A date or time phrase ("last night", "this morning"): a whole phrase, matched
    case-insensitively token by token, as spaCy's EntityRuler matches a phrase pattern."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: Literal["DATE", "TIME", "RECENT", "OLDER"]
    pattern: str = Field(min_length=1)


class LanguageCues(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    source: str
    negation_before: tuple[str, ...]
    negation_after: tuple[str, ...]
    hypothetical_before: tuple[str, ...]
    scope_window_tokens: int = Field(ge=1, le=30)
    scope_terminators: tuple[str, ...]
    speech_verbs: tuple[str, ...]
    child_terms: tuple[str, ...]
    adult_terms: tuple[str, ...]
    writer_terms: tuple[str, ...]
    child_name_labels: tuple[str, ...]
    child_name_relations: tuple[str, ...]
    speech_subject_pronouns: tuple[str, ...]
    speech_subject_skip: tuple[str, ...]
    speech_clause_breaks: tuple[str, ...]
    denial_words: tuple[str, ...] = ()
    denial_skip: tuple[str, ...] = ()
    state_links: tuple[str, ...] = ()
    state_writers: tuple[str, ...] = ()
    not_names: tuple[str, ...]
    # A pronoun agrees with what it stands for: "he" is not "mum", "she" is not "dad", and
    # neither is "staff" or "parents" (R7's speaker of a quotation).
    female_terms: tuple[str, ...] = ()
    male_terms: tuple[str, ...] = ()
    plural_terms: tuple[str, ...] = ()
    denial_after_no: tuple[str, ...]
    question_answers: tuple[str, ...] = ()
    date_regexes: tuple[DateRegex, ...]
    entity_patterns: tuple[DatePhrase, ...]


def _read(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return load_rules_text(handle)
    except yaml.YAMLError as exc:
        raise RulebookError(f"{path.name}: not valid YAML: {exc}") from exc


def _validated(model: type[_M], path: Path) -> _M:
    try:
        return model.model_validate(_read(path))
    except ValueError as exc:
        raise RulebookError(f"{path.name}: {exc}") from exc


class Rulebook(BaseModel):
    """Every rule file, loaded together so that one check uses one consistent set of versions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    standard: ReferralStandard
    vague: VagueLexicon
    concerns: ConcernCues
    language: LanguageCues

    @property
    def versions(self) -> dict[str, str]:
        return {
            "referral_standard": self.standard.version,
            "vague_lexicon": self.vague.version,
            "concern_cues": self.concerns.version,
            "language_cues": self.language.version,
        }


def load_rulebook(
    *,
    standard_file: Path = STANDARD_FILE,
    vague_file: Path = VAGUE_FILE,
    concern_file: Path = CONCERN_FILE,
    language_file: Path = LANGUAGE_FILE,
) -> Rulebook:
    """Read and validate the four rule files; raises ``RulebookError`` naming what is wrong."""
    from fullpicture.chronology.taxonomy import default_taxonomy

    concerns = _validated(ConcernCues, concern_file)
    taxonomy = default_taxonomy()
    unknown = [
        code for code in (*concerns.codes, *concerns.positive_never_for) if code not in taxonomy
    ]
    if unknown:
        raise RulebookError(f"{concern_file.name}: codes not in the taxonomy: {unknown}")
    return Rulebook(
        standard=_validated(ReferralStandard, standard_file),
        vague=_validated(VagueLexicon, vague_file),
        concerns=concerns,
        language=_validated(LanguageCues, language_file),
    )


@lru_cache(maxsize=1)
def default_rulebook() -> Rulebook:
    return load_rulebook()
