"""What the checker accepts as referral text, and the clear reason when it does not.

Empty text, a binary file, text over the size limit or text in another language is refused
with a message that says what to fix; nothing here ever blocks a referral from being sent —
these are limits of the checker, not of the referral (research-notes §3.1).
"""

from __future__ import annotations

import enum
import re
import unicodedata

from spacy.lang.en.stop_words import STOP_WORDS

from fullpicture.referrals.rulebook import Limits

_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_WORD_SPLIT_STRIP = ".,;:!?\"'“”‘’()[]{}-–—/"


class TextProblem(enum.StrEnum):
    EMPTY = "empty"
    BINARY = "binary"
    TOO_LONG = "too_long"
    NOT_ENGLISH = "not_english"
    NOT_UTF8 = "not_utf8"


class ReferralTextError(ValueError):
    """The text cannot be checked; ``problem`` says why, the message says what to do."""

    def __init__(self, problem: TextProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


def decode_referral_bytes(raw: bytes, *, limits: Limits) -> str:
    """Decode an uploaded file as UTF-8 text, refusing binary content with a clear reason."""
    if b"\x00" in raw[:8192]:
        raise ReferralTextError(
            TextProblem.BINARY,
            "This looks like a binary file (a PDF, Word document or image?), not plain text. "
            "Copy the referral text into a .txt file and check that.",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferralTextError(
            TextProblem.NOT_UTF8,
            f"The file is not UTF-8 text (byte {exc.start} cannot be read). Save it as UTF-8 plain text.",
        ) from exc
    return validate_referral_text(text, limits=limits)


def validate_referral_text(text: str, *, limits: Limits) -> str:
    """Return the text unchanged if the checker can read it; raise ``ReferralTextError`` if not."""
    if not text or not text.strip():
        raise ReferralTextError(
            TextProblem.EMPTY, "The referral text is empty: paste or type the referral to check it."
        )
    if len(text) > limits.max_characters:
        raise ReferralTextError(
            TextProblem.TOO_LONG,
            f"The text is {len(text):,} characters; the checker reads at most "
            f"{limits.max_characters:,}. Check the referral itself, without attachments.",
        )
    control = len(_CONTROL.findall(text))
    if "\x00" in text or control > max(3, len(text) // 100):
        raise ReferralTextError(
            TextProblem.BINARY,
            "The text contains binary control characters; paste plain text instead.",
        )
    _require_english(text, limits=limits)
    return text


def _require_english(text: str, *, limits: Limits) -> None:
    if not text.isascii():
        letters = sum(1 for ch in text if ch.isalpha())
        non_latin = sum(1 for ch in text if not ch.isascii() and ch.isalpha() and not _is_latin(ch))
        if letters and non_latin / letters > limits.max_non_latin_letter_share:
            raise ReferralTextError(
                TextProblem.NOT_ENGLISH,
                "The text is mostly not in the Latin alphabet. The checker reads English; "
                "send the referral in English (quote the child's own words in their language if needed).",
            )
    # Names, places and labels are capitalised and say nothing about the language; judge the
    # lower-case words only ("Mia Thompson, DOB …, Oakfield Primary" must not look foreign).
    words = [w.strip(_WORD_SPLIT_STRIP) for w in text.split()]
    words = [w for w in words if w.isalpha() and w[:1].islower()]
    if len(words) < limits.min_words_for_language_check:
        return
    # English prose is roughly 40% function words; other languages written in the Latin
    # alphabet share few of them, so a low share means another language.
    share = sum(1 for w in words if w in STOP_WORDS) / len(words)
    if share < limits.min_english_function_word_share:
        raise ReferralTextError(
            TextProblem.NOT_ENGLISH,
            "This does not read as English. The checker reads English referrals; write the "
            "referral in English (quote the child's own words in their language if needed).",
        )


def _is_latin(ch: str) -> bool:
    try:
        return "LATIN" in unicodedata.name(ch)
    except ValueError:
        return False
