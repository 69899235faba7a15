"""What the linkage model compares, and which pairs it looks at (splink settings).

Every level is written in SQL that DuckDB and Spark both understand (``=``, ``instr``,
``substr``, and splink's own string-distance levels), so one model runs on either engine.
Columns come from ``preparation.prepare``.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.dialects import SplinkDialect

from fullpicture.linkage.rules import ComparisonCutoffs, default_rules

# Which columns of PERSONS.csv (and of the database record) feed each comparison: used to say
# which field a file lacks and what the model can do without it.
COMPARISON_FIELDS: dict[str, tuple[str, ...]] = {
    "given_name": ("given_name",),
    "family_name": ("family_name",),
    "date_of_birth": ("date_of_birth",),
    "sex": ("sex",),
    "residence": ("postcode", "address"),
    "nhs_number": ("nhs_number",),
    "upn": ("upn",),
    "source": ("source",),
}

# Exact name agreement is weighed by how common the name is (splink's term-frequency
# adjustment): two records both "Smith" say less than two both "Okonkwo-Baptiste". The
# frequencies are computed once when the model is trained and saved with it, so a batch run,
# an incremental one and either engine weigh a name the same way.
TERM_FREQUENCY_COLUMNS = ("given_name", "family_name")


class _Comparison(cl.CustomComparison):
    """splink's CustomComparison, keeping its description (splink shows the class name)."""

    def create_description(self) -> str:
        return str(self._description or super().create_description())


def _either_null(column: str) -> ComparisonLevelCreator:
    return cll.CustomLevel(
        f"{column}_l IS NULL OR {column}_r IS NULL", label_for_charts=f"{column} missing"
    ).configure(is_null_level=True)


#: splink's label for every comparison's last level (``cll.ElseLevel``): none above it held.
#: It stays the model's label (saved models are checked against it); pages say it in words.
OTHER_LEVEL = "All other comparisons"

#: What the last level means for each comparison, as a reviewer reads it.
_DIFFERENT = {
    "given_name": "different given names",
    "family_name": "different family names",
    "date_of_birth": "different dates of birth",
    "sex": "different sex",
    "residence": "different addresses and postcodes",
    "nhs_number": "different NHS numbers",
    "upn": "different UPNs",
}

#: Each compared field by its own name, for "... missing".
_FIELD_NAMES = {
    "given_name": "given name",
    "family_name": "family name",
    "date_of_birth": "date of birth",
    "nhs_number": "NHS number",
    "upn": "UPN",
}


def level_in_words(comparison: str, level: str) -> str:
    """A comparison level as the link review and the child's page say it. The model's own
    labels read well except two: the last level ("All other comparisons", which says nothing
    of what differed) and the missing level ("nhs_number missing", a column name)."""
    if level == OTHER_LEVEL:
        return _DIFFERENT.get(comparison, f"different {comparison.replace('_', ' ')}")
    if level == f"{comparison} missing":
        field = _FIELD_NAMES.get(comparison, comparison.replace("_", " "))
        return f"{field} not recorded on one record or both"
    return level


def _exact(column: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(f"{column}_l = {column}_r", label_for_charts=label)


def _exact_weighed_by_frequency(column: str, label: str) -> ComparisonLevelCreator:
    return _exact(column, label).configure(tf_adjustment_column=column, tf_adjustment_weight=1.0)


NAMES_SWAPPED = "given and family names swapped"
NAMES_SWAPPED_ONE_SIDE = "swapped, the other name spelled differently"


def _names_swapped() -> cll.CustomLevel:
    """Given and family name entered the wrong way round (a common form-filling slip)."""
    return cll.CustomLevel(
        "given_name_l = family_name_r AND family_name_l = given_name_r "
        "AND given_name_l <> family_name_l",
        label_for_charts=NAMES_SWAPPED,
    )


def _names_swapped_one_side() -> cll.CustomLevel:
    """Swapped, and the other name mistyped or changed too: one record's given name is the
    other's family name. This is the given name's level: it counts the one name they share."""
    # IS DISTINCT FROM: a record holding one name only ("toby", no family name) still counts
    # when the other record holds it in the other field ("dreckow toby").
    return cll.CustomLevel(
        "(given_name_l = family_name_r OR family_name_l = given_name_r) "
        "AND given_name_l IS DISTINCT FROM family_name_l "
        "AND given_name_r IS DISTINCT FROM family_name_r",
        label_for_charts=NAMES_SWAPPED_ONE_SIDE,
    )


class _OtherNameAcrossLevel(ComparisonLevelCreator):
    """The family name's side of a one-name swap. One record's family name is the other's given
    name, or the reverse; the given-name comparison counts that shared name. This level counts
    the name left on each side, read across, when it is spelled closely ("whtie brandon" ~
    "brandon white"), or the shared name itself when the given-name comparison cannot (that
    record has no given name, so its one name sits in the family field). Before, the family
    name counted the shared name a second time, whatever the other names were: "archie george"
    and "george peachey" weighed as two agreeing names (FEBRL2: false links at +5)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        close = f"{sql_dialect.jaro_winkler_function_name}({{}}, {{}}) >= {self.threshold}"
        return (
            "(family_name_l = given_name_r AND given_name_l IS DISTINCT FROM family_name_l "
            f"AND (given_name_l IS NULL OR {close.format('given_name_l', 'family_name_r')})) "
            "OR (given_name_l = family_name_r AND given_name_r IS DISTINCT FROM family_name_r "
            f"AND (given_name_r IS NULL OR {close.format('family_name_l', 'given_name_r')}))"
        )

    def create_label_for_charts(self) -> str:
        return NAMES_SWAPPED_ONE_SIDE


class _SharedWordsLevel(ComparisonLevelCreator):
    """Two addresses share at least ``min_shared`` distinct words and at least ``share`` of the
    shorter one's words: "44 forbes street wintersloe" ~ "44 forbes st wintersloe vic", with
    the house number, street and locality counted, whatever their order or what is missing.

    The words are split in SQL (no stored column), in each engine's own array functions."""

    def __init__(self, column: str, *, share: float, min_shared: int, label: str) -> None:
        self.column = column
        self.share = share
        self.min_shared = min_shared
        self.label = label

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        left, right = f"{self.column}_l", f"{self.column}_r"
        if sql_dialect.sql_dialect_str == "spark":
            words_l = f"array_distinct(split({left}, ' '))"
            words_r = f"array_distinct(split({right}, ' '))"
            shared = f"size(array_intersect({words_l}, {words_r}))"
            shorter = f"least(size({words_l}), size({words_r}))"
        else:
            words_l = f"list_distinct(string_split({left}, ' '))"
            words_r = f"list_distinct(string_split({right}, ' '))"
            shared = f"len(list_intersect({words_l}, {words_r}))"
            shorter = f"least(len({words_l}), len({words_r}))"
        return f"({shared} >= {self.min_shared} AND {shared} >= {self.share} * {shorter})"

    def create_label_for_charts(self) -> str:
        return self.label


def _among_others(value: str, tokens: str, label: str) -> cll.CustomLevel:
    """One record's value appears in the other's ``|``-delimited list, either way round."""
    return cll.CustomLevel(
        f"instr({tokens}_r, concat('|', {value}_l, '|')) > 0 "
        f"OR instr({tokens}_l, concat('|', {value}_r, '|')) > 0",
        label_for_charts=label,
    )


def given_name_comparison(cutoffs: ComparisonCutoffs) -> _Comparison:
    close, near = cutoffs.name_jaro_winkler_close, cutoffs.name_jaro_winkler_near
    return _Comparison(
        output_column_name="given_name",
        comparison_description="Given name: exact, known variant or short form, alias, spelling, sound",
        comparison_levels=[
            _either_null("given_name"),
            _exact_weighed_by_frequency("given_name", "same given name (rarer names weigh more)"),
            _names_swapped(),
            _names_swapped_one_side(),
            _among_others(
                "given_name_canonical",
                "given_name_canonicals",
                "known variant (nickname / short form)",
            ),
            cll.CustomLevel(
                "length(given_name_l) >= 3 AND length(given_name_r) >= 3 AND ("
                "substr(given_name_l, 1, length(given_name_r)) = given_name_r OR "
                "substr(given_name_r, 1, length(given_name_l)) = given_name_l)",
                label_for_charts="one is a short form of the other",
            ),
            _among_others("given_name", "given_names_all", "given name among the other's names"),
            cll.JaroWinklerLevel("given_name", close).configure(
                label_for_charts=f"spelling very close (Jaro-Winkler >= {close})"
            ),
            _exact("given_name_phonetic", "sounds alike"),
            cll.JaroWinklerLevel("given_name", near).configure(
                label_for_charts=f"spelling close (Jaro-Winkler >= {near})"
            ),
            cll.ElseLevel(),
        ],
    )


def family_name_comparison(cutoffs: ComparisonCutoffs) -> _Comparison:
    close, near = cutoffs.name_jaro_winkler_close, cutoffs.name_jaro_winkler_near
    return _Comparison(
        output_column_name="family_name",
        comparison_description="Family name: exact, hyphenated part or previous surname, spelling, sound",
        comparison_levels=[
            _either_null("family_name"),
            _exact_weighed_by_frequency("family_name", "same family name (rarer names weigh more)"),
            _names_swapped(),
            _OtherNameAcrossLevel(near),
            _among_others(
                "family_name",
                "family_names_all",
                "part of a hyphenated name, or a previous family name",
            ),
            cll.JaroWinklerLevel("family_name", close).configure(
                label_for_charts=f"spelling very close (Jaro-Winkler >= {close})"
            ),
            _exact("family_name_phonetic", "sounds alike"),
            cll.JaroWinklerLevel("family_name", near).configure(
                label_for_charts=f"spelling close (Jaro-Winkler >= {near})"
            ),
            cll.ElseLevel(),
        ],
    )


def date_of_birth_comparison() -> _Comparison:
    return _Comparison(
        output_column_name="date_of_birth",
        comparison_description="Date of birth: exact, day and month swapped, one-character slip, near",
        comparison_levels=[
            _either_null("date_of_birth"),
            _exact("date_of_birth", "same date of birth"),
            cll.CustomLevel(
                "date_of_birth_transposed_l = date_of_birth_r",
                label_for_charts="day and month swapped",
            ),
            cll.DamerauLevenshteinLevel("date_of_birth", 1).configure(
                label_for_charts="one digit mistyped or two swapped"
            ),
            cll.CustomLevel(
                "substr(date_of_birth_l, 6, 5) = substr(date_of_birth_r, 6, 5)",
                label_for_charts="same day and month, year mistyped",
            ),
            cll.CustomLevel(
                "substr(date_of_birth_l, 1, 7) = substr(date_of_birth_r, 1, 7)",
                label_for_charts="same year and month",
            ),
            cll.CustomLevel(
                "substr(date_of_birth_l, 1, 4) = substr(date_of_birth_r, 1, 4)",
                label_for_charts="same year",
            ),
            cll.ElseLevel(),
        ],
    )


def sex_comparison() -> _Comparison:
    return _Comparison(
        output_column_name="sex",
        comparison_description="Sex recorded",
        comparison_levels=[_either_null("sex"), _exact("sex", "same sex"), cll.ElseLevel()],
    )


# Residence levels that share an area, not a home: a postcode covers a street or (in the
# four-digit postcodes of the public FEBRL files) a whole suburb.
SAME_POSTCODE = "same current postcode"
SAME_SECTOR = "same postcode sector"
SAME_DISTRICT = "same postcode district"
POSTCODE_SLIP = "postcode one character mistyped or two swapped"


def residence_comparison(cutoffs: ComparisonCutoffs) -> _Comparison:
    """Postcode and address line as one comparison: they say the same thing twice, and
    counting them as independent evidence would double the weight of a shared home
    (a parent and child of the same name would look like one person)."""
    most = _SharedWordsLevel(
        "address",
        share=cutoffs.address_most_words_share,
        min_shared=cutoffs.address_min_shared_words,
        label="most address words shared",
    )
    return _Comparison(
        output_column_name="residence",
        comparison_description="Postcode and address: current, any previous, words, same area",
        comparison_levels=[
            cll.CustomLevel(
                "(postcode_l IS NULL AND address_l IS NULL) OR "
                "(postcode_r IS NULL AND address_r IS NULL)",
                label_for_charts="no address on one record",
            ).configure(is_null_level=True),
            cll.CustomLevel(
                "postcode_l = postcode_r AND address_l = address_r",
                label_for_charts="same current address and postcode",
            ),
            cll.And(
                _exact("postcode", "same postcode"),
                most,
            ).configure(label_for_charts="same postcode and most address words"),
            _exact("postcode", SAME_POSTCODE),
            _exact("address", "same current address line"),
            cll.CustomLevel(
                "instr(postcodes_all_r, concat('|', postcode_l, '|')) > 0 "
                "OR instr(postcodes_all_l, concat('|', postcode_r, '|')) > 0 "
                "OR instr(addresses_all_r, concat('|', address_l, '|')) > 0 "
                "OR instr(addresses_all_l, concat('|', address_r, '|')) > 0",
                label_for_charts="current address in the other's address history",
            ),
            cll.JaroWinklerLevel("address", cutoffs.address_jaro_winkler).configure(
                label_for_charts=(
                    "address spelled very similarly "
                    f"(Jaro-Winkler >= {cutoffs.address_jaro_winkler})"
                )
            ),
            _SharedWordsLevel(
                "address",
                share=cutoffs.address_most_words_share,
                min_shared=cutoffs.address_min_shared_words,
                label="most address words shared, postcode differs",
            ),
            _exact("postcode_sector", SAME_SECTOR),
            _exact("postcode_district", SAME_DISTRICT),
            # Last, so a UK postcode one character off in the same sector or district stays in
            # those levels: this one takes a slip in the district itself, or in a postcode
            # with no sector (a four-digit one), where the address words were retyped too.
            cll.DamerauLevenshteinLevel("postcode", 1).configure(label_for_charts=POSTCODE_SLIP),
            cll.ElseLevel(),
        ],
    )


def same_name_same_home_levels(
    cutoffs: ComparisonCutoffs | None = None,
) -> dict[str, frozenset[int]]:
    """Per comparison (given name, family name, residence), the comparison-vector values
    (``gamma_<comparison>``) whose level says the two records hold the same name, or share a
    home: any agreement but a swap of given and family name (names), or but a shared postcode,
    sector or district, or a postcode slip, without the address (residence). The generation rule
    (``threshold.py``) is about a parent and the child named after them at one address; a pair
    that does not show that pattern is left to the model's weight."""
    cutoffs = cutoffs or default_rules().comparison_cutoffs
    swaps = {NAMES_SWAPPED, NAMES_SWAPPED_ONE_SIDE}
    not_the_same = (
        (given_name_comparison(cutoffs), swaps),
        (family_name_comparison(cutoffs), swaps),
        (residence_comparison(cutoffs), {SAME_POSTCODE, SAME_SECTOR, SAME_DISTRICT, POSTCODE_SLIP}),
    )
    values: dict[str, frozenset[int]] = {}
    for comparison, excluded in not_the_same:
        levels = [lv for lv in comparison.create_comparison_levels() if not lv.is_null_level]
        # splink numbers the non-null levels from the last (0, "all other comparisons") up.
        values[str(comparison.create_output_column_name())] = frozenset(
            len(levels) - 1 - index
            for index, level in enumerate(levels)
            if not isinstance(level, cll.ElseLevel)
            and level.create_level_dict("duckdb")["label_for_charts"] not in excluded
        )
    return values


def same_child_levels(
    cutoffs: ComparisonCutoffs | None = None,
) -> dict[str, frozenset[int]]:
    """Per comparison (given name, date of birth), the comparison-vector values whose level
    says the two records could be one child by these fields: the same given name, and the
    same birth date (or its day and month swapped). The relatives' comparison
    (``relatives.py``) is read only for such pairs: for two siblings, linked parents say
    "same family", not "same child", and siblings' given names can be variants of each other
    (twins Harry and Henry, Emily and Millie) and their birthdays a year or a digit apart
    (on the 1M synthetic population, 15 sibling pairs below the line with linked parents
    agreed at those looser levels; none at these)."""
    cutoffs = cutoffs or default_rules().comparison_cutoffs
    kept = (
        (given_name_comparison(cutoffs), {"same given name (rarer names weigh more)"}),
        (date_of_birth_comparison(), {"same date of birth", "day and month swapped"}),
    )
    values: dict[str, frozenset[int]] = {}
    for comparison, labels in kept:
        levels = [lv for lv in comparison.create_comparison_levels() if not lv.is_null_level]
        values[str(comparison.create_output_column_name())] = frozenset(
            len(levels) - 1 - index
            for index, level in enumerate(levels)
            if not isinstance(level, cll.ElseLevel)
            and level.create_level_dict("duckdb")["label_for_charts"] in labels
        )
    return values


def identifier_comparison(column: str, description: str) -> _Comparison:
    """A recorded identifier: strong evidence, not proof; a one-character slip still counts."""
    return _Comparison(
        output_column_name=column,
        comparison_description=description,
        comparison_levels=[
            _either_null(column),
            _exact(column, f"same {column.replace('_', ' ')}"),
            cll.DamerauLevenshteinLevel(column, 1).configure(
                label_for_charts="one character mistyped or two swapped"
            ),
            cll.ElseLevel(),
        ],
    )


SAME_SOURCE = "same source (one agency's or list's own records)"
DIFFERENT_SOURCES = "different sources (two agencies or lists)"


def source_comparison() -> _Comparison:
    """Whether the two records come from one source (an agency, or a list in a plain file) or
    from two. A person is far likelier to appear once in each of two agencies' lists than twice
    in one (an agency usually keeps one record per person), and the prior, counted over all
    pairs, cannot know which kind a pair is: on two lists without duplicates inside either,
    half the pairs are within a list and can never match, so for a pair across the lists the
    prior is half what it should be. EM learns the m of each level like any field's (the share
    of true pairs within one source), and u is the share of random pairs within one source, so
    the data says how much a pair across sources weighs; on a file with one source every pair is
    "same source", m = u and the comparison adds nothing."""
    return _Comparison(
        output_column_name="source",
        comparison_description="Source: the same agency or list, or two different ones",
        comparison_levels=[
            _either_null("source"),
            cll.CustomLevel("source_l <> source_r", label_for_charts=DIFFERENT_SOURCES),
            _exact("source", SAME_SOURCE),
        ],
    )


# The rules that block on names and a place but not on the birth date would pair everyone of
# a household, and everyone of the same-sounding name in a postcode district, whatever their
# birth dates: on the 1M-record population the name sounds and district alone made 15.1M pairs
# (more than all the other rules together), nearly all of them people born in other years. They
# take a pair only when its birth dates could be one person's: the same year, or the same day
# and month (a slip in the other part, or day and month swapped, keeps one of them), or a birth
# date missing on either record. On the 100k population every true pair these rules alone
# found had one of those but one, which scored below 7; the pairs they no longer make (141,000
# from the name sounds and district, 197,000 from family name and postcode) were all different
# people. A small file still gets every pair of a postcode, or of a name sound, through the
# budgeted rules (linkage_rules.yaml), which hold no such condition.
_BIRTH_DATES_COULD_AGREE = (
    "(l.date_of_birth IS NULL OR r.date_of_birth IS NULL "
    "OR substr(l.date_of_birth, 1, 4) = substr(r.date_of_birth, 1, 4) "
    "OR substr(l.date_of_birth, 6, 5) = substr(r.date_of_birth, 6, 5))"
)


def prediction_blocking_rules() -> list[Any]:
    """Pairs worth scoring. Each rule survives a typo in the fields the others rely on, so a
    single slip in a name, a date or a postcode never hides a true pair."""
    return [
        block_on("nhs_number"),
        block_on("upn"),
        block_on("date_of_birth", "family_name_phonetic"),
        block_on("date_of_birth", "given_name_phonetic"),
        block_on("date_of_birth", "given_name_canonical"),
        block_on("date_of_birth", "postcode"),
        "l.given_name_phonetic = r.given_name_phonetic "
        "AND l.family_name_phonetic = r.family_name_phonetic "
        f"AND l.postcode_district = r.postcode_district AND {_BIRTH_DATES_COULD_AGREE}",
        block_on("given_name_canonical", "family_name", "substr(date_of_birth, 1, 4)"),
        block_on("given_name_canonical", "family_name_phonetic", "substr(date_of_birth, 6, 5)"),
        f"l.family_name = r.family_name AND l.postcode = r.postcode AND {_BIRTH_DATES_COULD_AGREE}",
        "l.given_name_phonetic = r.given_name_phonetic AND l.postcode = r.postcode "
        f"AND {_BIRTH_DATES_COULD_AGREE}",
        # Names entered the wrong way round (and one of them mistyped too).
        "l.given_name = r.family_name AND l.family_name = r.given_name",
        "l.given_name = r.family_name AND l.date_of_birth = r.date_of_birth",
        "l.family_name = r.given_name AND l.date_of_birth = r.date_of_birth",
        "l.given_name = r.family_name AND l.postcode = r.postcode",
        "l.family_name = r.given_name AND l.postcode = r.postcode",
    ]


def linkage_settings(cutoffs: ComparisonCutoffs | None = None) -> SettingsCreator:
    cutoffs = cutoffs or default_rules().comparison_cutoffs
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            given_name_comparison(cutoffs),
            family_name_comparison(cutoffs),
            date_of_birth_comparison(),
            sex_comparison(),
            residence_comparison(cutoffs),
            identifier_comparison("nhs_number", "NHS number (strong, not infallible)"),
            identifier_comparison("upn", "School unique pupil number (strong, not infallible)"),
            source_comparison(),
        ],
        blocking_rules_to_generate_predictions=prediction_blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["source"],
        max_iterations=default_rules().training.max_em_iterations,
    )
