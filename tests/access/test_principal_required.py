"""Access is a required argument of every read of child data (issue 13, item 1).

Enumerates the public functions of every capability's repository and service modules (and the
modules that serve a child's picture) whose return type holds child data, and fails when one
can be called without a principal: a parameter typed as the signed-in user (``AuthSubject``),
an audited job (``SystemPrincipal``), either (``Reader``) or a ``Viewer``, with no default.
The few that remain without one are listed in ``NOT_YET`` with why; the list may only shrink
(a new function cannot join it without review, and a fixed one must leave it).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import fullpicture

#: Types whose values are (or carry) a child's data.
CHILD_DATA = (
    "Person",
    "SourceRecord",
    "SourceRelationship",
    "PersonRecordLink",
    "PersonRelationship",
    "Household",
    "HouseholdMembership",
    "Event",
    "HarmAlert",
    "AlertRead",
    "Referral",
    "ReferralRead",
    "ReferralCheck",
    "Chronology",
    "ChronologyEntry",
    "ChildHouseholdView",
    "QuarantinedRow",
    "RecordEventRow",
)
PRINCIPALS = ("AuthSubject", "SystemPrincipal", "Reader", "Viewer", "FeedScope")
MODULE_SUFFIXES = (".repository", ".service", ".households", ".quarantine", ".review")

#: Reviewed: functions that return child data without taking a principal, and why. Empty: a
#: new entry needs review (the rule is a required principal, applied in the SQL).
NOT_YET: dict[str, str] = {}


def _child_data_readers() -> dict[str, bool]:
    """Every public function returning child data, and whether it requires a principal."""
    found: dict[str, bool] = {}
    for info in pkgutil.walk_packages(fullpicture.__path__, "fullpicture."):
        if not info.name.endswith(MODULE_SUFFIXES):
            continue
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != info.name:
                continue
            signature = inspect.signature(function)
            returns = str(signature.return_annotation)
            if not any(
                kind in returns.replace("[", " ").replace("]", " ").replace("|", " ").split()
                or f"{kind}]" in returns
                or f"[{kind}" in returns
                for kind in CHILD_DATA
            ):
                continue
            found[f"{info.name}.{name}"] = any(
                any(p in str(parameter.annotation) for p in PRINCIPALS)
                and parameter.default is inspect.Parameter.empty
                for parameter in signature.parameters.values()
            )
    return found


def test_every_read_of_child_data_requires_a_principal() -> None:
    readers = _child_data_readers()
    assert len(readers) > 20, "the enumeration found too little to be looking in the right place"
    without = sorted(name for name, required in readers.items() if not required)
    unreviewed = [name for name in without if name not in NOT_YET]
    assert unreviewed == [], (
        "these return child data and can be called without a principal: take the reader "
        f"(AuthSubject, Reader or Viewer) with no default, as the SQL needs it: {unreviewed}"
    )
    fixed = sorted(set(NOT_YET) - set(without))
    assert fixed == [], f"now require a principal (or are gone): remove from NOT_YET: {fixed}"


def test_the_six_functions_named_in_the_issue_require_a_principal() -> None:
    readers = _child_data_readers()
    for name in (
        "fullpicture.chronology.repository.child_chronology",
        "fullpicture.chronology.repository.household_chronology",
        "fullpicture.referrals.service.get_latest",
        "fullpicture.referrals.service.check_text_with_record",
        "fullpicture.referrals.service.check_referral",
        "fullpicture.referrals.service.update_draft",
        "fullpicture.referrals.service.submit",
        "fullpicture.referrals.service.correct",
        "fullpicture.referrals.service.create_draft",
        "fullpicture.linkage.households.child_household_view",
        "fullpicture.harm.service.readable_alerts",
        "fullpicture.harm.service.open_alert",
        "fullpicture.harm.service.disclose_alerts",
    ):
        assert readers.get(name) is True, name
