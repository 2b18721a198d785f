"""The partner's own details (`partner.toml`): the seller on every invoice."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pipelines.config.errors import ConfigProblem
from pipelines.config.tables import LANGUAGES
from pipelines.quality.thresholds import AZURE_SPIKE_MINIMUM_INCREASE, AZURE_SPIKE_PERCENT

PARTNER_FILE = "partner.toml"
# Where the run's loaded configuration keeps the partner's settings the checks read.
PARTNER_SETTINGS = "config.partner_settings"
# The daily rated usage cross-check's money allowance on top of Microsoft's truncation to the
# cent, per Azure plan line group: none unless the partner sets one (work365-style).
DEFAULT_DAILY_USAGE_ALLOWANCE = Decimal("0.00")
MAX_DAILY_USAGE_ALLOWANCE = Decimal("1000000")


@dataclass(frozen=True)
class PartnerProfile:
    legal_name: str
    address_lines: tuple[str, ...]
    country: str
    vat_id: str
    registration_id: str
    email: str
    language: str
    logo: Path | None
    iban: str
    bic: str
    payment_terms_days: int
    series: str
    daily_usage_allowance: Decimal = DEFAULT_DAILY_USAGE_ALLOWANCE
    # [azure_warnings]: a day-over-day Azure spike is a day more than spike_percent above the day
    # before, by at least spike_minimum_increase (customer currency).
    spike_percent: Decimal = AZURE_SPIKE_PERCENT
    spike_minimum_increase: Decimal = AZURE_SPIKE_MINIMUM_INCREASE
    # How a change to an issued month is billed (issue 14): a credit note and a corrected
    # invoice, or the difference on the next open month's invoice.
    correction_mode: str = "credit_note"
    credit_note_series: str = "AV"


CORRECTION_MODES = ("credit_note", "next_invoice")


# (section, key, what the clerk writes there); every one is required.
_TEXT_FIELDS = (
    ("partner", "legal_name", "the partner's legal name"),
    ("partner", "country", "a two-letter country code, e.g. FR"),
    ("partner", "vat_id", "the partner's VAT number"),
    ("partner", "registration_id", "the company registration, e.g. RCS Paris 123 456 789"),
    ("bank", "iban", "the IBAN customers pay to"),
    ("bank", "bic", "the bank's BIC"),
    ("invoicing", "series", "the invoice number series, e.g. FA"),
)


def load_partner(directory: Path) -> tuple[PartnerProfile | None, list[ConfigProblem]]:
    path = directory / PARTNER_FILE
    if not path.is_file():
        return None, [
            ConfigProblem(PARTNER_FILE, None, None, "is missing: run `csp-recon init` to write a sample to edit")
        ]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)  # amounts never pass through float
    except UnicodeDecodeError:
        return None, [ConfigProblem(PARTNER_FILE, None, None, "is not UTF-8 text: save it as UTF-8")]
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None)
        return None, [
            ConfigProblem(PARTNER_FILE, line, None, f"cannot be read ({error.msg if hasattr(error, 'msg') else error})")
        ]
    problems: list[ConfigProblem] = []

    def text(section: str, key: str, what: str, required: bool = True) -> str:
        value = data.get(section, {}).get(key, "")
        if not isinstance(value, str):
            problems.append(ConfigProblem(PARTNER_FILE, None, f"[{section}] {key}", f"must be text in quotes: {what}"))
            return ""
        if required and not value.strip():
            problems.append(ConfigProblem(PARTNER_FILE, None, f"[{section}] {key}", f"is missing: write {what}"))
        return value.strip()

    values = {key: text(section, key, what) for section, key, what in _TEXT_FIELDS}
    email = text("partner", "email", "an e-mail address", required=False)
    address = data.get("partner", {}).get("address_lines", [])
    if (
        not isinstance(address, list)
        or not address
        or not all(isinstance(line, str) and line.strip() for line in address)
    ):
        problems.append(
            ConfigProblem(
                PARTNER_FILE,
                None,
                "[partner] address_lines",
                'must list the address lines, e.g. ["1 rue X", "75001 Paris"]',
            )
        )
        address = []
    language = text("partner", "language", "en or fr")
    if language and language not in LANGUAGES:
        problems.append(
            ConfigProblem(
                PARTNER_FILE, None, "[partner] language", f"is '{language}': write one of {', '.join(LANGUAGES)}"
            )
        )
    logo_name = text("partner", "logo", "a file name", required=False)
    logo = None
    if logo_name:
        logo = (directory / logo_name).resolve()
        if not logo.is_relative_to(directory.resolve()) or not logo.is_file():
            problems.append(
                ConfigProblem(
                    PARTNER_FILE, None, "[partner] logo", f"names '{logo_name}', which is not a file in {directory}"
                )
            )
            logo = None
    terms = data.get("invoicing", {}).get("payment_terms_days")
    if isinstance(terms, bool) or not isinstance(terms, int) or not 0 <= terms <= 365:
        problems.append(
            ConfigProblem(
                PARTNER_FILE,
                None,
                "[invoicing] payment_terms_days",
                "must be a whole number of days between 0 and 365, e.g. 30",
            )
        )
        terms = 0
    allowance = _allowance(data.get("reconciliation", {}).get("daily_usage_allowance"), problems)
    spike_percent = _amount(
        data,
        "spike_percent",
        AZURE_SPIKE_PERCENT,
        "a percentage such as 100 (a day costing double the day before)",
        problems,
    )
    spike_minimum = _amount(
        data, "spike_minimum_increase", AZURE_SPIKE_MINIMUM_INCREASE, "an amount such as 50.00", problems
    )
    correction_mode = (
        text("invoicing", "correction_mode", "credit_note or next_invoice", required=False) or CORRECTION_MODES[0]
    )
    if correction_mode not in CORRECTION_MODES:
        problems.append(
            ConfigProblem(
                PARTNER_FILE,
                None,
                "[invoicing] correction_mode",
                f"is '{correction_mode}': write one of {', '.join(CORRECTION_MODES)}",
            )
        )
    credit_note_series = (
        text("invoicing", "credit_note_series", "the credit note number series, e.g. AV", required=False) or "AV"
    )
    if credit_note_series == values["series"]:
        problems.append(
            ConfigProblem(
                PARTNER_FILE,
                None,
                "[invoicing] credit_note_series",
                "must differ from series: credit notes are numbered apart",
            )
        )
    if problems:
        return None, problems
    return (
        PartnerProfile(
            legal_name=values["legal_name"],
            address_lines=tuple(line.strip() for line in address),
            country=values["country"].upper(),
            vat_id=values["vat_id"],
            registration_id=values["registration_id"],
            email=email,
            language=language,
            logo=logo,
            iban=values["iban"].replace(" ", "").upper(),
            bic=values["bic"].replace(" ", "").upper(),
            payment_terms_days=terms,
            series=values["series"],
            daily_usage_allowance=allowance,
            spike_percent=spike_percent,
            spike_minimum_increase=spike_minimum,
            correction_mode=correction_mode,
            credit_note_series=credit_note_series,
        ),
        [],
    )


def _allowance(value: object, problems: list[ConfigProblem]) -> Decimal:
    """`[reconciliation] daily_usage_allowance`: an amount of at most 2 decimals from 0, in quotes
    or not (a TOML float is read from its text, never through binary floating point)."""
    if value is None:
        return DEFAULT_DAILY_USAGE_ALLOWANCE
    amount = None
    if not isinstance(value, bool) and isinstance(value, (str, int, float)):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount < 0
        or amount > MAX_DAILY_USAGE_ALLOWANCE
        or amount != amount.quantize(Decimal("0.01"))
    ):
        problems.append(
            ConfigProblem(
                PARTNER_FILE,
                None,
                "[reconciliation] daily_usage_allowance",
                f"is '{value}': write an amount in the billing currency from 0 to {MAX_DAILY_USAGE_ALLOWANCE:,} with at most "
                '2 decimals, e.g. "0.50" (0.00 accepts only Microsoft\'s truncation to the cent)',
            )
        )
        return DEFAULT_DAILY_USAGE_ALLOWANCE
    return amount.quantize(Decimal("0.01"))


def _amount(data: dict, key: str, default: Decimal, what: str, problems: list[ConfigProblem]) -> Decimal:
    """A non-negative number of [azure_warnings], written bare or in quotes; the default when absent."""
    value = data.get("azure_warnings", {}).get(key)
    if value is None:
        return default
    try:
        number = Decimal(value) if isinstance(value, (int, Decimal, str)) and not isinstance(value, bool) else None
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or number < 0:
        problems.append(ConfigProblem(PARTNER_FILE, None, f"[azure_warnings] {key}", f"is {value!r}: write {what}"))
        return default
    return number
