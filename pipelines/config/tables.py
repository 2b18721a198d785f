"""The partner's configuration files as tables: the one definition of their columns.

Each CSV file of the config directory becomes the warehouse table `config.<name>` with these
columns, in this order; the dbt models read them as the `config` source. A column a file does
not have is loaded blank (so a file written before a column was added keeps working); a column
the definition does not know is an error, as it is most likely a misspelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    TEXT = "text"
    GUID = "guid"  # compared in lower case: Partner Center writes GUIDs in either case
    CODE = "code"  # upper-cased: countries, currencies
    DECIMAL_RATE = "rate"
    DECIMAL_FRACTION = "fraction"
    DECIMAL_MONEY = "money"
    DECIMAL_QUANTITY = "quantity"
    DECIMAL_PRICE = "price"
    INTEGER = "integer"
    DATE = "date"


SQL_TYPES = {
    Kind.TEXT: "VARCHAR",
    Kind.GUID: "VARCHAR",
    Kind.CODE: "VARCHAR",
    Kind.DECIMAL_RATE: "DECIMAL(9,4)",
    Kind.DECIMAL_FRACTION: "DECIMAL(6,4)",
    Kind.DECIMAL_MONEY: "DECIMAL(18,2)",
    Kind.DECIMAL_QUANTITY: "DECIMAL(18,4)",
    Kind.DECIMAL_PRICE: "DECIMAL(18,6)",
    Kind.INTEGER: "INTEGER",
    Kind.DATE: "DATE",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""  # how to write the value, in the clerk's words
    pattern: str = ""  # a regular expression the whole value must match (checked after choices)

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class ConfigTable:
    name: str  # file `<name>.csv`, table `config.<name>`
    key: str  # unique per file
    columns: tuple[Column, ...]

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


TAX_TREATMENTS = ("domestic", "reverse_charge", "exempt", "outside_scope")
LANGUAGES = ("en", "fr")
INVOICE_GROUPINGS = ("product", "subscription")
# Azure usage lines of a customer's invoice: one per Azure subscription, resource group, or
# value of one tag (`tag:costcenter`; no quote, backslash, comma or semicolon in the tag's name).
AZURE_GROUPING_PATTERN = r"subscription|resource_group|tag:[^\s\"'\\,;][^\"'\\,;]*"
DEFAULT_AZURE_GROUPING = "subscription"
PRICING_SOURCES = ("license", "usage", "seat", "azure_plan", "marketplace", "reservation", "software", "credit")
PRICING_BASES = ("cost_markup", "list_relative", "fixed_unit_price")

CUSTOMERS = ConfigTable(
    "customers",
    key="customer_id",
    columns=(
        Column("customer_id", Kind.GUID, required=True, help="the customer's tenant id from Partner Center"),
        Column("billing_name", Kind.TEXT, required=True, help="the legal name printed on the invoice"),
        Column("address_line1", Kind.TEXT),
        Column("address_line2", Kind.TEXT),
        Column("postal_code", Kind.TEXT),
        Column("city", Kind.TEXT),
        Column("country", Kind.CODE, help="a two-letter country code, e.g. FR"),
        Column("vat_id", Kind.TEXT),
        Column("tax_treatment", Kind.TEXT, required=True, choices=TAX_TREATMENTS),
        Column("vat_rate", Kind.DECIMAL_FRACTION, help="a fraction, e.g. 0.20 for 20 %"),
        Column("exemption_text", Kind.TEXT),
        Column("language", Kind.TEXT, choices=LANGUAGES),
        Column("currency", Kind.CODE, required=True, help="a three-letter currency code, e.g. EUR"),
        Column("monthly_usage_budget", Kind.DECIMAL_MONEY, help="an amount such as 25000.00"),
        Column("invoice_grouping", Kind.TEXT, choices=INVOICE_GROUPINGS),
        Column(
            "azure_grouping",
            Kind.TEXT,
            pattern=AZURE_GROUPING_PATTERN,
            help="subscription, resource_group or tag: followed by a tag name, e.g. tag:costcenter",
        ),
    ),
)

PRICING_RULES = ConfigTable(
    "pricing_rules",
    key="pricing_rule_id",
    columns=(
        Column("pricing_rule_id", Kind.TEXT, required=True),
        Column("customer_id", Kind.GUID),
        Column("source", Kind.TEXT, choices=PRICING_SOURCES),
        Column("product_pattern", Kind.TEXT),
        Column("product_id", Kind.TEXT),
        Column("sku_id", Kind.TEXT),
        Column("publisher_pattern", Kind.TEXT),
        Column("term_pattern", Kind.TEXT),
        Column("billing_frequency", Kind.TEXT),
        Column("reseller_mpn_id", Kind.TEXT),
        Column("priority", Kind.INTEGER, required=True, help="a whole number, e.g. 0"),
        Column("basis", Kind.TEXT, required=True, choices=PRICING_BASES),
        Column("rate", Kind.DECIMAL_RATE, help="a percentage such as 15 or -5"),
        Column("unit_price", Kind.DECIMAL_PRICE, help="a price such as 24.50"),
        Column("currency", Kind.CODE, help="a three-letter currency code, e.g. EUR"),
        Column("valid_from", Kind.DATE, help="a date written YYYY-MM-DD"),
        Column("valid_to", Kind.DATE, help="a date written YYYY-MM-DD"),
        Column("description", Kind.TEXT),
    ),
)

SERVICE_CHARGES = ConfigTable(
    "partner_service_charges",
    key="service_charge_id",
    columns=(
        Column("service_charge_id", Kind.TEXT, required=True),
        Column("customer_id", Kind.GUID, required=True, help="a customer id of customers.csv"),
        Column("description", Kind.TEXT, required=True, help="the line text on the invoice"),
        Column("quantity", Kind.DECIMAL_QUANTITY, required=True, help="a number such as 1 or 120"),
        Column("unit_price", Kind.DECIMAL_PRICE, required=True, help="a price such as 850.00"),
        Column("currency", Kind.CODE, required=True, help="a three-letter currency code, e.g. EUR"),
        Column("valid_from", Kind.DATE, required=True, help="a date written YYYY-MM-DD"),
        Column("valid_to", Kind.DATE, help="a date written YYYY-MM-DD"),
    ),
)

CONFIG_TABLES = (CUSTOMERS, PRICING_RULES, SERVICE_CHARGES)

# Columns `config.customers` has beyond its file, derived by the loader so the models need no
# rules of their own: whether VAT is charged (every treatment but domestic is invoiced without
# VAT) and what keeps the customer from being invoiced (NULL when the billing profile is complete).
CUSTOMER_DERIVED_COLUMNS = (
    ("tax_exempt", "BOOLEAN"),
    ("billing_profile_problems", "VARCHAR"),
)
