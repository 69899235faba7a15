"""Vague language found by kind, not by list (issue 17 item 3).

The sentences here are written for these tests, not taken from any corpus: each family's patterns
must find phrasings the lexicon never lists (positives) and leave alone near misses that state a
fact, name a source or give the evidence (negatives). The word classes and the evidence rule are
data (``vague_lexicon.yaml``), validated when the file is read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.referrals import rulebook as rulebook_module
from fullpicture.referrals.checker import check_referral_text
from fullpicture.referrals.language import default_engine, token_pattern_regex
from fullpicture.referrals.rulebook import RulebookError, default_rulebook, load_rulebook
from fullpicture.referrals.token_sequences import TokenSequences

DAY = dt.date(2026, 11, 23)

POSITIVES = [
    # reassurance: an evaluative judgement about a carer, child or home, nothing seen behind it
    ("Grandad seems a really gentle man with the twins.", "gentle man", "reassurance"),
    (
        "Honestly there is nothing at all to worry about at home.",
        "nothing at all to worry",
        "reassurance",
    ),
    ("Dad is always so warm with her.", "Dad is always so warm", "reassurance"),
    (
        "Everything seemed fine when I dropped the forms round.",
        "Everything seemed fine",
        "reassurance",
    ),
    ("She is getting on fine with her stepdad now.", "getting on fine", "reassurance"),
    ("There is nothing to suggest he is unsafe there.", "nothing to suggest", "reassurance"),
    ("They are a decent family who want the best for him.", "a decent family", "reassurance"),
    ("No real worries from the nursery side.", "No real worries", "reassurance"),
    # unquantified frequency, time and amount
    ("Dad has been drinking heavily of late.", "of late", "unquantified"),
    ("She goes missing every so often overnight.", "every so often", "unquantified"),
    ("He has come in hungry on several occasions.", "on several occasions", "unquantified"),
    ("There were quite a few marks on his legs.", "quite a few", "unquantified"),
    ("Mum's new partner stays over most weekends.", "most weekends", "unquantified"),
    ("The police have been called out loads of times.", "loads of", "unquantified"),
    ("Things got worse the other week.", "the other week", "unquantified"),
    ("He intermittently misses his medication.", "intermittently", "unquantified"),
    # unattributed report (hearsay with no source)
    (
        "It is rumoured that the older brother deals from the flat.",
        "It is rumoured",
        "unattributed",
    ),
    ("People are saying dad is back living there.", "People are saying", "unattributed"),
    ("I have been told the baby is left with a neighbour.", "I have been told", "unattributed"),
    ("It's been suggested she is not eating.", "It's been suggested", "unattributed"),
    ("The uncle is thought to carry a knife.", "is thought to carry", "unattributed"),
    ("Apparently the heating has been off since October.", "Apparently", "unattributed"),
    ("According to rumours the flat is used for parties.", "According to rumours", "unattributed"),
    # labels instead of facts
    ("Mum comes from a chaotic household.", "chaotic household", "label"),
    ("He has shown challenging behaviour all term.", "challenging behaviour", "label"),
    ("She has been making poor choices.", "poor choices", "label"),
    ("The stepfather is well known to the police.", "known to the police", "label"),
    ("He has got in with a bad crowd.", "bad crowd", "label"),
    ("Dad is a real troublemaker on the estate.", "a real troublemaker", "label"),
    ("She is very mouthy with staff.", "very mouthy", "label"),
    ("The family are hard to engage.", "hard to engage", "label"),
    # minimisers
    ("It was merely a push between the brothers.", "merely a push", "minimiser"),
    ("It was just a silly tiff with her boyfriend.", "just a silly tiff", "minimiser"),
    # The writer's own words: "Mum said it was only a slight graze" is mum's account since
    # 2026.12.14 (a minimiser in someone's account, with its speaker, is theirs).
    ("It was only a slight graze.", "only a slight graze", "minimiser"),
    ("Girls will be girls, they were soon friends again.", "Girls will be girls", "minimiser"),
    ("Staff felt it was normal teenage stuff.", "normal teenage stuff", "minimiser"),
    ("School are not overly worried about the bruising.", "not overly worried", "minimiser"),
    ("It was nothing particularly serious.", "nothing particularly serious", "minimiser"),
    ("I think the school are making a fuss.", "making a fuss", "minimiser"),
    # hedges
    ("From what I could see the cot had no mattress.", "From what I could see", "hedge"),
    ("As far as we know dad has no contact.", "As far as we know", "hedge"),
    ("She reckons the older girl is about fifteen.", "She reckons", "hedge"),
    ("He had a mark on his neck or something like that.", "or something", "hedge"),
    ("He appeared distressed at the door.", "appeared", "hedge"),
    # a label where the agency is named with no reason
    ("His brother is known to the youth offending service.", "known to the youth", "label"),
    # added for the batch 2-3 corpus (settled readings of the guide; sentences written here)
    # minimiser: the referral itself made smaller
    ("Just letting you know the twins were collected late.", "Just letting", "minimiser"),
    ("I am passing this on to be on the safe side.", "on the safe side", "minimiser"),
    ("I'm sure it's nothing but the mark was on her ear.", "sure it's nothing", "minimiser"),
    ("The mark could easily be nothing.", "could easily be nothing", "minimiser"),
    (
        "Not sure if this is anything, the lunchbox was empty.",
        "sure if this is anything",
        "minimiser",
    ),
    ("He has been a bit clingy this week.", "a bit", "minimiser"),
    # label: "a bit" softening a judgement of someone's manner; engagement judged
    ("Dad was a bit short with the receptionist.", "a bit short", "label"),
    ("Mum has not engaged well with the nursery.", "not engaged well", "label"),
    # reassurance: care or support summed up with nothing seen
    ("The twins are always clean and fed.", "always clean", "reassurance"),
    ("Her aunt is supportive.", "aunt is supportive", "reassurance"),
    (
        "Gran lives round the corner and is nearby and supportive.",
        "nearby and supportive",
        "reassurance",
    ),
    ("He has good friendships at school.", "good friendships", "reassurance"),
    ("She arrives appropriately dressed.", "appropriately dressed", "reassurance"),
    # hedge: a call-taker's paraphrase, a note's subjectless guess
    ("DSL thinks the surname is Marsh.", "DSL thinks", "hedge"),
    ("Think there is a baby in the flat too.", "Think", "hedge"),
    ("Dad lives nearby as far as I'm aware.", "as far as I'm", "hedge"),
    ("The mark looked like a burn.", "looked like", "hedge"),
    # unattributed: a report with no source
    ("There was something about a man visiting at night.", "something about", "unattributed"),
    # unquantified: an amount or time with no figure
    ("There was not much food in the cupboards.", "not much food", "unquantified"),
    ("He has little contact with his father.", "little contact", "unquantified"),
    ("The baby cries for hours.", "for hours", "unquantified"),
    ("She has self-harmed in the past.", "in the past", "unquantified"),
    # label: engagement judged with nothing seen
    ("Mum has a history of not engaging with the nursery.", "not engaging", "label"),
    ("Dad won't engage with anyone from school.", "n't engage", "label"),
    # 2026-12-07 (refvague): shapes added from train and dev errors, each with a near miss below
    ("There is an older man, possibly her uncle, at the flat.", "possibly", "hedge"),
    ("A girl, approx 6?, was upstairs and not seen.", "6?", "hedge"),
    ("An older lad (cousin?) opened the door.", "(cousin?)", "hedge"),
    ("I did wonder if dad had been drinking.", "I did wonder", "hedge"),
    ("We had a feeling something was wrong there.", "had a feeling", "hedge"),
    ("My understanding is that dad moved back in.", "My understanding is", "unattributed"),
    ("We've heard he is back living there.", "We've heard", "unattributed"),
    ("Dad is a known drinker on the estate.", "a known drinker", "label"),
    ("It was just a tiny scratch on his arm.", "just a tiny scratch", "minimiser"),
    ("Kai has had bruises before on his arms.", "has had bruises before", "unquantified"),
    ("Nursery have no concerns.", "no concerns", "reassurance"),
    ("Mum was appropriate with the baby.", "was appropriate with the baby", "reassurance"),
    ("Tanya is warm with Leo and Mia.", "is warm with Leo", "reassurance"),
    ("The twins are clearly loved.", "clearly loved", "reassurance"),
    ("He's never been any trouble at club.", "never been any trouble", "reassurance"),
    ("We don't have any other worries about her.", "have any other worries", "reassurance"),
    ("Baby settled, feeding ok.", "feeding ok", "reassurance"),
    ("Home conditions adequate.", "Home conditions adequate", "reassurance"),
    (
        "The flat was cluttered but considered acceptable.",
        "cluttered but considered acceptable",
        "reassurance",
    ),
    ("Lives with mum, poss dad, on the estate.", "poss", "hedge"),
    ("A girl was seen leaving at 2am looking unwell.", "looking unwell", "hedge"),
    ("Mum looks flat and says she is not sleeping.", "looks flat", "hedge"),
    ("I believe there was a response sent to school.", "I believe", "hedge"),
    ("She seemed in a hurry to leave.", "seemed", "hedge"),
    ("Lives with mum and two brothers. Not sure about dad.", "Not sure about dad", "hedge"),
    ("The stepdad was abusive to officers.", "was abusive", "label"),
    ("House is a mess and the kids run riot.", "House is a mess", "label"),
    ("Home untidy, dog in the kitchen.", "Home untidy", "label"),
    ("Mum herself is known to the practice.", "known to the practice", "label"),
    ("Mother known to police (previous).", "known to police", "label"),
    ("PREVIOUS: Subject known.", "Subject known", "label"),
    ("Shared with CSC given lack of engagement.", "lack of engagement", "label"),
    ("Sofia was a little quiet but played.", "a little quiet", "minimiser"),
    ("Same clothes every week. Bit smelly.", "Bit smelly", "minimiser"),
    ("Dad is known to you.", "known to you", "label"),
    ("I've been told she missed the list.", "I've been told", "unattributed"),
    ("I understand she moved out in May.", "I understand", "unattributed"),
    ("We've heard on the grapevine he is back.", "heard on the grapevine", "unattributed"),
    ("Mum is always polite with staff.", "always polite", "reassurance"),
    # 2026-12-07 (refvague2): labels for conduct, each with a near miss below
    ("Her brother has a temper and slams doors.", "has a temper", "label"),
    ("The younger two were running riot in the hall.", "running riot", "label"),
    ("Dad was civil but cagey on the doorstep.", "but cagey", "label"),
    ("He kicked off in the canteen again.", "kicked off", "label"),
    (
        "There have also been reports of a man at the door.",
        "There have also been reports",
        "unattributed",
    ),
    # 2026-12-07 (refvague3): a share of a period with no figure, each with a near miss below
    ("The lights were off for much of the evening.", "much of the evening", "unquantified"),
    ("He sat on his own most of the lesson.", "most of the lesson", "unquantified"),
    # a time ago with no number; praise of engagement as a noun
    ("Dad had a caution, but that was years ago.", "years ago", "unquantified"),
    ("Her aunt took them in for a while, months ago.", "months ago", "unquantified"),
    ("Positive engagement from both parents so far.", "Positive engagement", "reassurance"),
    ("Since the summer mum has disengaged.", "disengaged", "label"),
]

# An amount inside a guess is part of the guess (the hedge); after a clause boundary it is not.
GOVERNED = [
    ("I reckon he has some debts with them.", "some debts", "unquantified", False),
    ("I believe there were several men at the flat.", "several men", "unquantified", False),
    ("I believe, several men were at the flat.", "several men", "unquantified", True),
    ("There were several men at the flat.", "several men", "unquantified", True),
    # someone else's claim with its source, or a check asked for, is not the writer's reassurance
    ("The stepdad stated the kids are fine.", "kids are fine", "reassurance", False),
    ("Could you check the children are okay tonight.", "children are okay", "reassurance", False),
    ("The children are okay at home with gran.", "children are okay", "reassurance", True),
    # an impression verb with praise, or with a state softened, is one hedge (settled batches)
    ("The baby appeared well looked after on the ward.", "well looked after", "reassurance", False),
    ("The baby was well looked after on the ward.", "well looked after", "reassurance", True),
    ("Dad seemed a bit flustered at the door.", "a bit", "minimiser", False),
    ("Dad was a bit flustered at the door.", "a bit", "minimiser", True),
    # 2026-12-07 (refvague3): a guess that the harm is small is one minimiser, not a hedge beside
    # it; a guess with a clause boundary or a word between is still a hedge
    ("The cut is probably just a graze from play.", "probably", "hedge", False),
    ("Maybe only a scrape, she wasn't sure.", "maybe", "hedge", False),
    ("Normal teenage stuff probably, I would say.", "probably", "hedge", False),
    ("Probably, just a graze from play.", "probably", "hedge", True),
    ("He is probably 14 and only a child.", "probably", "hedge", True),
    ("It is probably a graze from play.", "probably", "hedge", True),
]

NEGATIVES = [
    # the evidence is given beside the judgement
    ("He appears well-fed (weight 18 kg, 50th centile).", "hedge"),
    ("Mum is supportive: she has come to all 6 appointments since June.", "reassurance"),
    ("Dad is attentive, as shown by the feeding chart he keeps for the baby.", "reassurance"),
    ("She is very aggressive, for example she threw a chair at a teacher on 3 March.", "label"),
    # the source is named
    ("It was reported by the neighbour at 22:15 that the children were alone.", "unattributed"),
    ("I was told by her aunt, Kim Bell, that mum had left.", "unattributed"),
    ("We understand from the health visitor that the baby has lost weight.", "unattributed"),
    # a number, a date, a fact
    ("He was late on 4 of the last 10 days.", "unquantified"),
    ("She was seen at 09:10 on 20 November with a bruise to her left cheek.", "unquantified"),
    ("The bruise measured 3 cm across.", "minimiser"),
    ("Just after 3pm she left the school with her older sister.", "minimiser"),
    ("She is the only adult in the house.", "minimiser"),
    ("Not known to CSC before this referral.", "label"),
    ("Mum is happy to talk to you on 07700 900123.", "reassurance"),
    # the reason is given after the agency's whole name
    ("His brother is known to the youth offending service for criminal damage.", "label"),
    # the writer's analysis of risk or need, which R13 and R16 ask for, is not a guess at a fact
    ("I think the threshold for a strategy discussion is met.", "hedge"),
    ("I believe Kai is being exploited by the older boys.", "hedge"),
    ("I think police and probation should be involved.", "hedge"),
    ("This looks like grooming by an older man.", "hedge"),
    ("I looked in his mouth under the light.", "hedge"),
    # someone's reported words, with their source
    ("Mum said everything is fine at home.", "reassurance"),
    ("He said he was fine and went back to class.", "reassurance"),
    ("She said something about a party in town.", "unattributed"),
    ("Clothes are not always clean.", "reassurance"),
    # a condition or a check asked for is not a claim that all is well
    ("Please can someone check he is alright.", "reassurance"),
    ("When she is well she takes them to the park.", "reassurance"),
    # a thing the writer did, not an amount of concern
    ("I took some photos of the bruises on my phone.", "unquantified"),
    ("She keeps a little contact book for school.", "unquantified"),
    # a record check that found nothing has no past event to date
    ("We are not aware of any contact with services in the past.", "unquantified"),
    ('Dad said "she won\'t engage with them" and left.', "label"),
    # doubt about the threshold is not a minimiser (settled batch 3)
    ("Not sure if this meets threshold for you.", "minimiser"),
    # the new shapes inside quoted speech are the speaker's words, not the writer's
    ('Mum said "just letting you know, it could be nothing" at the door.', "minimiser"),
    ('Dad told me "she is always clean and fed" and shut the door.', "reassurance"),
    ('The log reads "a bit short with staff" for that day.', "label"),
    ('Kai said "think mum has a new boyfriend" to his teacher.', "hedge"),
    # 2026-12-07 (refvague): the near misses of the shapes added that day
    # a request or a risk framed, not a guess at a fact
    ("Could you maybe ring the school tomorrow.", "hedge"),
    ("Perhaps someone could visit this week.", "hedge"),
    ("This needs a strategy discussion and possibly a child protection medical.", "hedge"),
    # a year queried is a record's date, not a guess at the child
    ("Early Help closed (2023?) after six months.", "hedge"),
    # someone's belief with its holder named
    ("He believes he owes them money for the phone.", "hedge"),
    ("Ruby says she has a feeling of dread before school.", "hedge"),
    # what the writer heard
    ("Through the wall I hear the children crying at night.", "unattributed"),
    ("I have heard him say he hates school.", "unattributed"),
    ("Dad told me he is a social drinker.", "label"),
    # how little a child wore, or how little is on file, is not a harm made smaller
    ("He was in just a vest in the cold.", "minimiser"),
    ("We only keep just a first name for mum.", "minimiser"),
    ("Jack has only a few words.", "minimiser"),
    # a dated past, a topic, and the look of marks already counted
    ("Kai had bruises on 3 May and 9 June.", "unquantified"),
    ("She talked about things at home with her form tutor.", "unquantified"),
    ("There were four bruises, some yellow and some darker.", "unquantified"),
    # a record check that found nothing, and what is asked for
    ("Her primary school records show no safeguarding concerns.", "reassurance"),
    ("No concerns recorded on our system.", "reassurance"),
    ("Please make appropriate checks on the household.", "reassurance"),
    ("The flat is warm with the heating on.", "reassurance"),
    ("I am not confident she is safe tonight.", "reassurance"),
    ("He has not felt loved since dad left.", "reassurance"),
    ("He has never been in trouble with police.", "reassurance"),
    ("Weight 9.2 kg, 50th centile, so weight ok.", "reassurance"),
    ("Home conditions were not adequate for a baby.", "reassurance"),
    ("He came in new-looking branded trainers.", "hedge"),
    ("I believe that the risk to Kai is high.", "hedge"),
    ("Not sure about the threshold for this one.", "hedge"),
    ("The flat is known to the police for drug supply in 2024.", "label"),
    ("Mum is known to the practice (asthma clinic since 2019).", "label"),
    ("The subject known to us as Jay is 19.", "label"),
    ("The house was tidy and warm.", "label"),
    ("She has a little sister at home.", "minimiser"),
    ("The dog bit him on the hand.", "minimiser"),
    # a question asks, a source is named, a plan is accepted, a heading is not a guess
    ("I'd like to know if Tolley is known to you.", "label"),
    ("I've been told by the hospital she missed the list.", "unattributed"),
    ("You may need to tell mum and I understand that.", "unattributed"),
    ("Police will visit, which I understand will be today.", "unattributed"),
    ("What I think: this family is struggling.", "hedge"),
    ("She looked out of the window and saw him.", "hedge"),
    ("He was polite, said hello to Nia, then went upstairs.", "reassurance"),
    # 2026-12-07 (refvague2): what a conduct label is not
    ("She lost her temper once, on 3 May, and shouted at him.", "label"),
    ("The riot van attended at 9pm.", "label"),
    ("Mum was tired but friendly at drop-off.", "label"),
    # 2026-12-07 (refvague3): a share of something that is not a period
    ("She spent most of the money on the electric.", "unquantified"),
    ("Much of the damage was to the front door.", "unquantified"),
    ("Dad had a caution three years ago, for theft.", "unquantified"),
    ("The flat was let to them 6 months ago.", "unquantified"),
    ("Engagement with the plan is recorded on each visit.", "reassurance"),
    ("Dad disengaged from the clinic in May; he missed 3 reviews.", "label"),
]


def _found(sentence: str) -> set[tuple[str, str]]:
    text = f"Referral for Kai Brown, Year 4. {sentence} Please advise."
    return {(v.text, v.family) for v in check_referral_text(text, referral_date=DAY).vague_phrases}


@pytest.mark.parametrize(("sentence", "phrase", "family"), POSITIVES)
def test_each_family_finds_phrasings_it_never_lists(
    sentence: str, phrase: str, family: str
) -> None:
    found = _found(sentence)
    assert any(
        (phrase.lower() in text.lower() or text.lower() in phrase.lower()) and fam == family
        for text, fam in found
    ), found


@pytest.mark.parametrize(("sentence", "family"), NEGATIVES)
def test_near_misses_with_evidence_a_source_or_a_number_are_not_vague(
    sentence: str, family: str
) -> None:
    found = _found(sentence)
    assert not [f for f in found if f[1] == family], found


@pytest.mark.parametrize(("sentence", "phrase", "family", "found"), GOVERNED)
def test_a_phrase_governed_earlier_in_its_clause_is_not_flagged_on_its_own(
    sentence: str, phrase: str, family: str, found: bool
) -> None:
    flagged = any(
        phrase.lower() in text.lower() and fam == family for text, fam in _found(sentence)
    )
    assert flagged is found, _found(sentence)


def test_a_governor_must_name_kinds_and_cues_that_exist(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["kinds"]["unquantified"]["governed_by"] = [
            {"after_kinds": ["no_such_kind"], "reason": "test"}
        ]

    with pytest.raises(RulebookError, match="no_such_kind"):
        load_rulebook(vague_file=_edited_lexicon(tmp_path, edit))

    def edit_before(raw: dict[str, Any]) -> None:
        raw["kinds"]["hedged"]["governed_by"] = [
            {"before_kinds": ["minimising"], "before_cues": ["no_such_cue"], "reason": "test"}
        ]

    with pytest.raises(RulebookError, match="no_such_cue"):
        load_rulebook(vague_file=_edited_lexicon(tmp_path, edit_before))


def test_praise_with_a_measurement_is_cleared_but_bare_praise_is_not() -> None:
    assert ("appears", "hedge") in _found("He appears well-fed.")
    assert not _found("He appears well-fed (weight 18 kg, 50th centile).")
    assert any(fam == "reassurance" for _, fam in _found("Mum is supportive."))


# -- the lexicon as data --------------------------------------------------------------------


def _edited_lexicon(tmp_path: Path, edit: Any) -> Path:
    raw = yaml.safe_load(rulebook_module.VAGUE_FILE.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "vague_lexicon.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_an_unknown_word_class_fails_loudly(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["kinds"]["judgement"]["cues"][0]["patterns"] = [[{"LOWER": {"IN": "@no_such_class"}}]]

    with pytest.raises(RulebookError, match="no_such_class"):
        load_rulebook(vague_file=_edited_lexicon(tmp_path, edit))


def test_evidence_may_clear_only_a_kinds_own_cues(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["kinds"]["hedged"]["cleared_by_evidence"] = ["reassurance_by_kind"]

    with pytest.raises(RulebookError, match="cleared_by_evidence"):
        load_rulebook(vague_file=_edited_lexicon(tmp_path, edit))


def test_a_partnership_can_widen_a_word_class_without_code_changes(tmp_path: Path) -> None:
    sentence = "Mum is a smashing parent."
    assert not any(fam == "reassurance" for _, fam in _found(sentence))

    def edit(raw: dict[str, Any]) -> None:
        raw["word_classes"]["praise"].append("smashing")

    book = load_rulebook(vague_file=_edited_lexicon(tmp_path, edit))
    found = check_referral_text(sentence, referral_date=DAY, rulebook=book).vague_phrases
    assert [(v.text, v.family) for v in found] == [("a smashing parent", "reassurance")]


# -- one walk over the tokens reads as the regex route did ------------------------------------

_WORDS = st.sampled_from(
    [
        "a", "few", "couple", "of", "things", "lot", "mum", "is", "very", "lovely", "caring", "dad",
        "kids", "being", "just", "only", "small", "scratch", "no", "concerns", "noted", "i", "'m",
        "sure", "doing", "fine", "known", "to", "you", "most", "days", "quite", "withdrawn", "the",
        "usual", "stuff", "\n", ",", ".", "A", "Few", "Mum", "3", "or", "so",
    ]
)  # fmt: skip


def _vague_sequence_patterns() -> list[list[dict[str, Any]]]:
    engine = default_engine()
    patterns = []
    for kind in default_rulebook().vague.kinds.values():
        for cue in kind.cues:
            for pattern in cue.patterns:
                probe = TokenSequences(lambda w: len(engine.nlp.make_doc(w)) == 1)
                if probe.add("p", pattern) and token_pattern_regex(pattern) is not None:
                    patterns.append(list(pattern))
    return patterns


@settings(max_examples=150, deadline=None)
@given(st.lists(_WORDS, max_size=30))
def test_token_sequences_find_what_the_pattern_regexes_find(words: list[str]) -> None:
    import re

    engine = default_engine()
    text = " ".join(words)
    doc = engine.nlp.make_doc(text)
    lower = [t.lower_ for t in doc]
    alpha = [t.is_alpha for t in doc]
    number = [t.like_num for t in doc]
    lowered = text.lower()
    for pattern in _vague_sequence_patterns():
        sequences = TokenSequences(lambda w: len(engine.nlp.make_doc(w)) == 1)
        assert sequences.add("p", pattern)
        by_tokens = {
            (doc[s].idx, doc[e - 1].idx + len(doc[e - 1]))
            for _, s, e in sequences.find(lower, alpha, number)
        }
        expression = re.compile(token_pattern_regex(pattern) or "")
        by_regex = {
            (m.start(), m.end())
            for m in expression.finditer(lowered)
            if (m.start() == 0 or not lowered[m.start() - 1].isalnum())
        }
        assert by_tokens == by_regex, (pattern, text)


def test_token_sequences_read_what_must_not_come_before_the_first_token() -> None:
    sequences = TokenSequences(lambda w: " " not in w)
    assert sequences.add(
        "fine", [{"LOWER": "everything", "NOT_PRECEDED_BY": ["said", "that"]}, {"LOWER": "fine"}]
    )
    assert not sequences.add(
        "barred later", [{"LOWER": "a"}, {"LOWER": "b", "NOT_PRECEDED_BY": ["c"]}]
    )
    words = [
        "everything",
        "fine",
        ".",
        "said",
        "everything",
        "fine",
        ".",
        "so",
        "everything",
        "fine",
    ]
    found = sequences.find(words, [w.isalpha() for w in words], [False] * len(words))
    assert found == [("fine", 0, 2), ("fine", 8, 10)]


def test_a_word_class_names_what_must_not_come_before(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["word_classes"]["not_asserted_after"].append("wrote")

    sentence = "Mum wrote everything is fine."
    assert any(fam == "reassurance" for _, fam in _found(sentence))
    book = load_rulebook(vague_file=_edited_lexicon(tmp_path, edit))
    found = check_referral_text(sentence, referral_date=DAY, rulebook=book).vague_phrases
    assert not [v for v in found if v.family == "reassurance"]


def test_token_sequences_read_numbers_optional_tokens_and_what_must_not_follow() -> None:
    sequences = TokenSequences(lambda w: " " not in w)
    assert sequences.add(
        "about", [{"LOWER": "about"}, {"LIKE_NUM": True}, {"LOWER": "of", "OP": "?"}]
    )
    assert sequences.add("fine", [{"LOWER": "is"}, {"LOWER": "fine", "NOT_FOLLOWED_BY": ["with"]}])
    assert not sequences.add("optional first", [{"LOWER": "a", "OP": "?"}, {"LOWER": "b"}])
    assert not sequences.add(
        "barred middle", [{"LOWER": "a", "NOT_FOLLOWED_BY": ["b"]}, {"LOWER": "c"}]
    )
    words = [
        "about",
        "4",
        "of",
        "them",
        ";",
        "about",
        "four",
        ";",
        "about",
        "it",
        ";",
        "is",
        "fine",
        ".",
        "is",
        "fine",
        "with",
        "it",
    ]
    number = [w in {"4", "four"} for w in words]
    alpha = [w.isalpha() for w in words]
    found = sequences.find(words, alpha, number)
    assert found == [("about", 0, 3), ("about", 5, 7), ("fine", 11, 13)]


# -- refvague4: how long, and instances listed (lexicon 2026.12.14) -------------------------

DURATION_OR_LISTED = [
    # An amount of clock time is how long, not how often: not vague.
    ("The door was opened after a few minutes.", False),
    ("She waited several minutes before calling back.", False),
    ("He slept for a couple of hours on the ward.", False),
    ("The crew arrived within the next few minutes.", False),
    # No amount word before the unit: still vague.
    ("Mum works long hours.", True),
    ("The baby screams for hours.", True),
    # A frequency with two or more dated instances in its clause counts them.
    ("He has come in hungry on several days (recorded 04/11, 11/11 and 18/11).", False),
    ("She often misses breakfast club; staff logged it on 02/10 and 09/10.", True),
    # One day named twice is one instance; a clock time is none.
    ("He often arrives late, as he did yesterday (Sunday 22/11) at 10am.", True),
    ("He has come in hungry on several days.", True),
]


@pytest.mark.parametrize(("sentence", "vague"), DURATION_OR_LISTED)
def test_a_duration_or_a_frequency_with_its_dates_is_not_unquantified(
    sentence: str, vague: bool
) -> None:
    found = [f for f in _found(sentence) if f[1] == "unquantified"]
    assert bool(found) is vague, found


def test_duration_and_listed_dates_are_the_lexicons_data(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        del raw["kinds"]["unquantified"]["duration"]
        del raw["kinds"]["unquantified"]["cleared_by_listed_dates"]

    book = load_rulebook(vague_file=_edited_lexicon(tmp_path, edit))
    for sentence in (
        "The door was opened after a few minutes.",
        "He has come in hungry on several days (recorded 04/11, 11/11 and 18/11).",
    ):
        text = f"Referral for Kai Brown, Year 4. {sentence} Please advise."
        found = check_referral_text(text, referral_date=DAY, rulebook=book).vague_phrases
        assert [v for v in found if v.family == "unquantified"], sentence

    def bad(raw: dict[str, Any]) -> None:
        raw["kinds"]["unquantified"]["cleared_by_listed_dates"] = 0

    with pytest.raises(RulebookError, match="cleared_by_listed_dates"):
        load_rulebook(vague_file=_edited_lexicon(tmp_path, bad))


MINIMISED_IN_AN_ACCOUNT = [
    # Someone else's minimising, with its speaker, is their account: not the writer's.
    ("Mum said it was only a small graze from the park.", "small graze", False),
    ("His uncle says the boys were just messing about.", "just messing", False),
    ("Nan told the nurse it was merely a push.", "merely a push", False),
    # The writer's own minimising, or a guess, stays a minimiser.
    ("It was only a small graze from the park.", "small graze", True),
    ("I thought it was just a scratch.", "just a scratch", True),
    # Too far from the verb, or past a clause boundary, the minimiser stands on its own.
    ("She said that, to be fair, it was only a small graze.", "small graze", True),
]


@pytest.mark.parametrize(("sentence", "phrase", "found"), MINIMISED_IN_AN_ACCOUNT)
def test_a_minimiser_in_someone_elses_account_is_theirs(
    sentence: str, phrase: str, found: bool
) -> None:
    flagged = any(
        (phrase.lower() in text.lower() or text.lower() in phrase.lower()) and fam == "minimiser"
        for text, fam in _found(sentence)
    )
    assert flagged is found, _found(sentence)


# -- refvague5: what the writer asks, doubts, expects or recalls (lexicon 2026.12.16) ----------

NOT_CLAIMED_BY_THE_WRITER = [
    # (sentence, family, phrase, found). An amount asked about is not claimed.
    ("When I asked how often, Jo shrugged.", "unquantified", "often", False),
    ("It is unclear how often he stays with his uncle.", "unquantified", "often", False),
    # The asking's own frequency is a claim, and so is the answer.
    ("She has asked several times for help.", "unquantified", "several times", True),
    ("He goes out often and comes back late.", "unquantified", "often", True),
    # A frequency in what ought to happen is a standard, not what happened.
    ("A baby of that age should be weighed often.", "unquantified", "often", False),
    ("She ought to visit most days.", "unquantified", "most days", False),
    ("He should have been seen several times by now.", "unquantified", "several times", True),
    # Praise the writer doubts or denies is a worry.
    ("I am not confident the children are safe at night.", "reassurance", "safe", False),
    ("The children may not be supervised properly after school.", "reassurance", "properly", False),
    ("I doubt she is coping well.", "reassurance", "coping well", False),
    # A denial further off, or one the praise needs, leaves the praise standing.
    ("Mum does not drink and is a loving mum.", "reassurance", "a loving mum", True),
    ("We do not think it is anything to worry about.", "reassurance", "anything to worry", True),
    # How things used to be, set against a change, is the change's baseline.
    ("Until last spring he was doing well.", "reassurance", "doing well", False),
    ("She used to be a happy girl.", "reassurance", "a happy girl", False),
    ("She is a happy girl.", "reassurance", "a happy girl", True),
    # Doubt about the writer's own conduct is not a hedge on a fact.
    ("Maybe I should have rung sooner.", "hedge", "maybe", False),
    ("Perhaps we should have referred last year.", "hedge", "perhaps", False),
    ("Dad is maybe 30 and drives a van.", "hedge", "maybe", True),
]


@pytest.mark.parametrize(("sentence", "family", "phrase", "found"), NOT_CLAIMED_BY_THE_WRITER)
def test_what_the_writer_asks_doubts_expects_or_recalls_is_not_their_claim(
    sentence: str, family: str, phrase: str, found: bool
) -> None:
    flagged = any(
        (phrase.lower() in text.lower() or text.lower() in phrase.lower()) and fam == family
        for text, fam in _found(sentence)
    )
    assert flagged is found, _found(sentence)


ARRIVAL_SUMMED_UP = [
    # A child's arrival or going summed up in a good-state word, nothing seen: reassurance.
    ("Ruby went into school fine this morning.", True),
    ("He comes in okay most of the time.", True),
    ("She went home happy after tea.", True),
    # A result, or the state followed by what it is about, is not.
    ("The scan results came back fine.", False),
    ("He went in fine with the plan for the day.", False),
]


@pytest.mark.parametrize(("sentence", "found"), ARRIVAL_SUMMED_UP)
def test_an_arrival_summed_up_in_a_good_state_word_is_reassurance(
    sentence: str, found: bool
) -> None:
    assert any(fam == "reassurance" for _, fam in _found(sentence)) is found, _found(sentence)


# -- refvague6: shapes by kind, from the families' definitions (lexicon 2026.12.18) ------------

BY_KIND_2026_12_18 = [
    # (sentence, family, phrase, found). Written for the tests, none from a corpus.
    # Appearance judged rather than described is a label; what was worn is the fact.
    ("He came in scruffy again on Monday.", "label", "scruffy", True),
    ("Both boys were dishevelled at pick-up.", "label", "dishevelled", True),
    ("She was wearing grubby clothes and no socks.", "label", "grubby", False),
    # A carer summed up by a verdict on their care, and manner judged as a change.
    ("Dad is an unfit father and a heavy drinker.", "label", "unfit father", True),
    ("Dad is an unfit father and a heavy drinker.", "label", "a heavy drinker", True),
    ("She has been more argumentative with staff.", "label", "more argumentative", True),
    ("She has been more withdrawn this term.", "label", "more withdrawn", False),
    ("Mum was in a bad way when I rang.", "label", "in a bad way", True),
    # Someone else heard THAT something is so: a rumour at second hand; what they heard happen
    # is what they witnessed.
    ("Caller said she has heard that he is back.", "unattributed", "heard that", True),
    ("Nan had heard there were men staying over.", "unattributed", "heard there", True),
    ("She heard shouting through the wall at 11pm.", "unattributed", "heard", False),
    # A harm or a change made small.
    ("There was a small red mark on her arm.", "minimiser", "a small red mark", True),
    ("His attendance has dropped slightly.", "minimiser", "dropped slightly", True),
    ("His attendance has dropped to 81%.", "minimiser", "dropped", False),
    # An amount named but not given; coming and going with no pattern.
    (
        "Officers found a large number of wraps in the car.",
        "unquantified",
        "a large number of",
        True,
    ),
    ("He swallowed an unknown number of tablets.", "unquantified", "number of", False),
    ("The boyfriend comes and goes.", "unquantified", "comes and goes", True),
    ("Her behaviour has been up and down.", "unquantified", "up and down", True),
    # Support summed up as good; a need for support is not praise.
    ("Family support is good.", "reassurance", "support is good", True),
    ("Strengths: gran nearby, reliable support.", "reassurance", "reliable support", True),
    # A person named as the support is how a strength is given.
    ("Her aunt is a reliable support.", "reassurance", "reliable support", False),
    ("She needs a lot of support with the baby.", "reassurance", "support", False),
    # Someone called supportive, with nothing said of what they do.
    ("Her sister is supportive and lives nearby.", "reassurance", "supportive", True),
    ("Pat is involved and supportive.", "reassurance", "supportive", True),
    # A finding from looking is not a summary; the summary is.
    ("There is nothing to suggest drug use.", "reassurance", "nothing to suggest", True),
    ("I saw nothing to suggest drug use.", "reassurance", "nothing to suggest", False),
    ("Health visitor: nothing of note.", "reassurance", "nothing of note", True),
    # An amount of language or speech is an ability, not an amount of concern.
    ("Mum has some English and uses a few words of Polish.", "unquantified", "some English", False),
    ("He says a few words and uses some Makaton.", "unquantified", "a few", False),
    ("There are some concerns about his speech.", "unquantified", "some concerns", True),
    # Better and worse is unquantified; a movement is not.
    ("Her mood has been up and down.", "unquantified", "up and down", True),
    ("He moved it up and down.", "unquantified", "up and down", False),
    # Managing as a task, and "a bit" before a change or a time, minimise nothing.
    ("Mum is managing.", "minimiser", "managing", True),
    ("He is managing her medication.", "minimiser", "managing", False),
    ("She was a bit tearful.", "minimiser", "a bit", True),
    ("Dad is a bit down today.", "minimiser", "a bit", True),
    ("Her sleep was a bit better.", "minimiser", "a bit", False),
    # What the writer heard happen is what they witnessed; what they heard is so is hearsay.
    ("I heard he is back.", "unattributed", "I heard", True),
    ("I heard a man shouting.", "unattributed", "I heard", False),
    # A call-taker's paraphrase of the caller's belief is a hedge (settled batches 2, 3, 4b).
    ("Caller believes the family live at number 9.", "hedge", "Caller believes", True),
    # A likelihood frames the risk (R13), a guess at a fact stays a hedge.
    ("I think it is likely to continue without help.", "hedge", "I think", False),
    ("I think he is 15.", "hedge", "I think", True),
    # A carer's interest judged, not described.
    ("Mum not very interested.", "label", "not very interested", True),
]


@pytest.mark.parametrize(("sentence", "family", "phrase", "found"), BY_KIND_2026_12_18)
def test_shapes_by_kind_2026_12_18(sentence: str, family: str, phrase: str, found: bool) -> None:
    flagged = any(
        (phrase.lower() in text.lower() or text.lower() in phrase.lower()) and fam == family
        for text, fam in _found(sentence)
    )
    assert flagged is found, _found(sentence)
