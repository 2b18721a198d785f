"""What the sample files are made of: Microsoft offers and Azure meters with list prices,
customer names, and per-currency price levels, tax rates and Azure regions.

Prices are scaled integers (cents, or millionths for Azure meters) so every amount the
generator writes is exact.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Offer:
    name: str
    monthly_price_cents: int  # USD list price per licence per month


OFFERS: tuple[Offer, ...] = (
    Offer("Office 365 E1", 1000),
    Offer("Office 365 E3", 2300),
    Offer("Office 365 E5", 3800),
    Offer("Microsoft 365 Business Basic", 600),
    Offer("Microsoft 365 Business Standard", 1250),
    Offer("Microsoft 365 Business Premium", 2200),
    Offer("Microsoft 365 E3", 3600),
    Offer("Exchange Online (Plan 1)", 400),
    Offer("Exchange Online (Plan 2)", 800),
    Offer("Dynamics 365 Sales Enterprise", 9500),
    Offer("Dynamics 365 Customer Service Enterprise", 9500),
    Offer("Power BI Pro", 1000),
    Offer("Visio Plan 2", 1500),
    Offer("Project Plan 3", 3000),
    Offer("Enterprise Mobility + Security E3", 1060),
)


@dataclass(frozen=True)
class Tier:
    list_price_micros: int  # USD per unit, in millionths
    up_to: int | None  # cumulative units (millionths) this tier covers; None = unlimited


@dataclass(frozen=True)
class Meter:
    service_name: str
    service_type: str
    resource_name: str
    unit: str
    tiers: tuple[Tier, ...]
    monthly_units: int  # what a busy subscription consumes in a month, in whole units
    included_micros: int = 0  # free allowance, taken from the first tier
    region: str | None = None  # None: the subscription's own region


def _tier(price: str, up_to_units: int | None = None) -> Tier:
    whole, _, fraction = price.partition(".")
    micros = int(whole) * 1_000_000 + int(fraction.ljust(6, "0"))
    return Tier(micros, None if up_to_units is None else up_to_units * 1_000_000)


AZURE_METERS: tuple[Meter, ...] = (
    Meter("Virtual Machines", "Dv3/DSv3 Series", "D2 v3/D2s v3", "1 Hour", (_tier("0.096"),), 744),
    Meter("Virtual Machines", "Dv3/DSv3 Series Windows", "D4 v3/D4s v3", "1 Hour", (_tier("0.376"),), 744),
    Meter("Virtual Machines", "BS Series", "B2s", "1 Hour", (_tier("0.0416"),), 744),
    Meter("Virtual Machines", "Ev3/ESv3 Series", "E8 v3/E8s v3", "1 Hour", (_tier("0.504"),), 744),
    Meter("Storage", "Standard Page Blob", "LRS Data Stored", "GB", (_tier("0.045"),), 2000),
    Meter("Storage", "Premium SSD Managed Disks", "P10 LRS Disk", "1/Month", (_tier("19.71"),), 4),
    Meter("Storage", "Standard IO", "Write Operations", "10,000 Transactions", (_tier("0.05"),), 5000),
    Meter("Storage", "Standard IO", "Read Operations", "10,000 Transactions", (_tier("0.004"),), 20000),
    Meter("Bandwidth", "Data Transfer", "Data Transfer In (GB)", "GB", (_tier("0"),), 5000, region="Zone 1"),
    Meter(
        "Bandwidth",
        "Data Transfer",
        "Data Transfer Out (GB)",
        "GB",
        (_tier("0.087", 10_240), _tier("0.083", 51_200), _tier("0.07")),
        60_000,
        included_micros=5_000_000,
        region="Zone 1",
    ),
    Meter("Azure App Service", "Standard Plan", "Standard Small App Service Hours", "1 Hour", (_tier("0.1"),), 744),
    Meter("Azure App Service", "Basic Plan", "Basic Small App Service Hours", "1 Hour", (_tier("0.075"),), 744),
    Meter("SQL Database", "Single Standard", "S0 DTUs", "1/Day", (_tier("0.4839"),), 31),
    Meter("SQL Database", "Single General Purpose - Compute Gen5", "vCore", "1 Hour", (_tier("0.2522"),), 1488),
    Meter("Log Analytics", "Standard", "Data Ingestion", "GB", (_tier("2.76"),), 500, included_micros=5_000_000),
    Meter("Key Vault", "Standard", "Operations", "10,000 Transactions", (_tier("0.03"),), 300),
    Meter(
        "Azure DNS",
        "Public",
        "Public Queries",
        "1,000,000 Queries",
        (_tier("0.4", 1_000), _tier("0.2")),
        1_500,
        region="Zone 1",
    ),
    Meter("Virtual Network", "IP Addresses", "Standard Static Public IP", "1 Hour", (_tier("0.005"),), 744),
)

# What customers run on Azure, as the meters each kind of subscription uses (resource names).
AZURE_WORKLOADS: tuple[tuple[str, ...], ...] = (
    (  # web application
        "Standard Small App Service Hours",
        "S0 DTUs",
        "LRS Data Stored",
        "Read Operations",
        "Write Operations",
        "Data Transfer In (GB)",
        "Data Transfer Out (GB)",
        "Operations",
        "Public Queries",
        "Data Ingestion",
    ),
    (  # Linux virtual machines
        "D2 v3/D2s v3",
        "B2s",
        "P10 LRS Disk",
        "LRS Data Stored",
        "Write Operations",
        "Data Transfer In (GB)",
        "Data Transfer Out (GB)",
        "Standard Static Public IP",
        "Data Ingestion",
    ),
    (  # Windows servers
        "D4 v3/D4s v3",
        "E8 v3/E8s v3",
        "P10 LRS Disk",
        "LRS Data Stored",
        "Data Transfer In (GB)",
        "Data Transfer Out (GB)",
        "Standard Static Public IP",
        "Operations",
        "Public Queries",
    ),
    (  # data platform
        "vCore",
        "E8 v3/E8s v3",
        "LRS Data Stored",
        "Read Operations",
        "Write Operations",
        "Data Ingestion",
        "Operations",
        "Data Transfer In (GB)",
        "Data Transfer Out (GB)",
    ),
    (  # small business
        "B2s",
        "Basic Small App Service Hours",
        "S0 DTUs",
        "LRS Data Stored",
        "Data Transfer In (GB)",
        "Data Transfer Out (GB)",
        "Standard Static Public IP",
        "Public Queries",
    ),
)

AZURE_SKU = "7UD-00001"  # MS-AZR-0145P, the legacy Azure in CSP offer

# The names the ingest and the invoices must survive: accents, quotes, commas, ampersands.
CUSTOMER_NAMES: tuple[str, ...] = (
    "Société Dupont, SA",
    "Müller & Söhne GmbH",
    'The "Best" Company, Inc.',
    "Ærøskøbing ApS",
    "Zoë's Café",
    "Nguyễn Trading",
    "Contoso Ltd.",
    "Åkesson & Öberg AB",
    "Café São Paulo Ltda.",
    "Łódź Logistics Sp. z o.o.",
    "Ibáñez y Peña, S.L.",
    "Château Léoville SARL",
    "O'Brien & Sons Ltd",
    "Fabrikam, Inc.",
    "Þórsson ehf.",
    "Brøndby Bryggeri A/S",
    "Tōkyō Kōgyō K.K.",
    "Žužemberk d.o.o.",
    "Ceramiche Città di Castello S.p.A.",
    "Wide World Importers",
)
# Beyond the names above, customers are named from these parts; past that, numbered.
NAME_STEMS: tuple[str, ...] = (
    "Bäckerei Groß",
    "Hôtel Saint-Éloi",
    "Fjällräven Konsult",
    "Señor Muñoz",
    "Kovač Građevina",
    "Ølstykke Tømrer",
    "Crème Brûlée",
    "Dvořák Hudba",
)
NAME_FORMS: tuple[str, ...] = ("GmbH", "& Cie, SARL", "AB", "S.A.", "d.o.o.", "ApS", '"Ltd."', "s.r.o.")

PARTNER_NAME = "Northwind Cloud Partners Ltd."

# Azure billing departments customers give their subscriptions, as nicknames.
SUBSCRIPTION_NICKNAMES: tuple[str, ...] = ("Production", "Dev/Test", "Finance", "Sales", "R&D", "Shared")

# Units of the billing currency per 100 USD, so list prices look local.
PRICE_PER_100_USD: dict[str, int] = {
    "USD": 100,
    "EUR": 94,
    "GBP": 79,
    "CHF": 90,
    "DKK": 700,
    "SEK": 1050,
    "NOK": 1060,
    "AUD": 150,
    "CAD": 137,
}
DEFAULT_PRICE_PER_100_USD = 100

# Tax Microsoft charges the partner, in basis points; absent currencies are invoiced tax-free
# (reverse charge), which the pipeline must handle too.
TAX_BASIS_POINTS: dict[str, int] = {"EUR": 1900, "USD": 825, "GBP": 2000, "DKK": 2500}

AZURE_REGIONS: dict[str, tuple[str, ...]] = {
    "EUR": ("EU West", "EU North", "DE West Central", "FR Central"),
    "USD": ("US East", "US East 2", "US West 2", "US Central"),
    "GBP": ("UK South", "UK West"),
}
DEFAULT_AZURE_REGIONS: tuple[str, ...] = ("EU West", "US East")

# Legacy license charge types, with the inconsistent casing Partner Center really uses.
CYCLE_FEE = "Cycle fee"
RENEW_FEE = "Renew fee"
PRORATE_PURCHASE = "Prorate fees when purchase"
PRORATE_CANCEL = "Prorate fees when cancel"
CANCEL_FEE = "Cancel fee"
CYCLE_INSTANCE_PRORATE = "cycle instance prorate"

USAGE_FEE = "Assess usage fee for current cycle"
CYCLE_DISCOUNT = "Cycle discount"


@dataclass(frozen=True)
class CurrencyTerms:
    """How Microsoft bills in one currency: price level, tax rate, Azure regions used."""

    code: str
    per_100_usd: int
    tax_basis_points: int
    regions: tuple[str, ...]


def currency_terms(code: str) -> CurrencyTerms:
    return CurrencyTerms(
        code=code,
        per_100_usd=PRICE_PER_100_USD.get(code, DEFAULT_PRICE_PER_100_USD),
        tax_basis_points=TAX_BASIS_POINTS.get(code, 0),
        regions=AZURE_REGIONS.get(code, DEFAULT_AZURE_REGIONS),
    )
