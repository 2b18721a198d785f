"""The invoice's words in each language a customer may be billed in (customers.csv `language`)."""

from __future__ import annotations

LABELS = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "cancels": "Cancels invoice {number} of {date} in full.",
        "replaces": "Replaces invoice {number} of {date}, cancelled by a credit note.",
        "prior_period": "correction of an earlier period",
        "correction_of": "Correction of invoice {number} ({period})",
        "draft": "DRAFT - not an invoice, no number until issued",
        "number": "Invoice number",
        "issue_date": "Issue date",
        "due_date": "Due date",
        "not_issued": "on issue",
        "due_after": "{days} days after issue",
        "period": "Billing period",
        "payment_reference": "Payment reference",
        "seller": "From",
        "buyer": "Bill to",
        "vat_id": "VAT number",
        "registration": "Registration",
        "customer_id": "Customer id",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "amount": "Amount",
        "vat": "VAT",
        "subscription": "Subscription",
        "service_period": "Service period",
        "prorated": "prorated",
        "annual": "annual term",
        "multi_month": "several months",
        "no_charges": "No charges this period.",
        "total_pretax": "Total before VAT",
        "vat_summary": "VAT",
        "vat_basis": "Taxable amount",
        "vat_rate": "Rate",
        "vat_amount": "VAT amount",
        "total_due": "Total due",
        "payment": "Payment",
        "pay_by_transfer": "Please pay by bank transfer to IBAN {iban} (BIC {bic}) quoting the payment reference, within {days} days.",
        "reverse_charge": "Reverse charge: VAT to be accounted for by the recipient, Article 196 Directive 2006/112/EC",
        "outside_scope": "VAT not applicable: services outside the scope of EU VAT (Article 44 Directive 2006/112/EC)",
    },
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "cancels": "Annule en totalité la facture {number} du {date}.",
        "replaces": "Remplace la facture {number} du {date}, annulée par avoir.",
        "prior_period": "régularisation d'une période antérieure",
        "correction_of": "Régularisation de la facture {number} ({period})",
        "draft": "BROUILLON - pas une facture, sans numéro avant émission",
        "number": "Numéro de facture",
        "issue_date": "Date d'émission",
        "due_date": "Date d'échéance",
        "not_issued": "à l'émission",
        "due_after": "{days} jours après émission",
        "period": "Période de facturation",
        "payment_reference": "Référence de paiement",
        "seller": "Émetteur",
        "buyer": "Facturé à",
        "vat_id": "N° de TVA",
        "registration": "Immatriculation",
        "customer_id": "Identifiant client",
        "description": "Désignation",
        "quantity": "Quantité",
        "unit_price": "Prix unitaire",
        "amount": "Montant",
        "vat": "TVA",
        "subscription": "Abonnement",
        "service_period": "Période de service",
        "prorated": "au prorata",
        "annual": "engagement annuel",
        "multi_month": "plusieurs mois",
        "no_charges": "Aucune prestation sur la période.",
        "total_pretax": "Total HT",
        "vat_summary": "TVA",
        "vat_basis": "Base HT",
        "vat_rate": "Taux",
        "vat_amount": "Montant TVA",
        "total_due": "Total TTC à payer",
        "payment": "Règlement",
        "pay_by_transfer": "Merci de régler par virement sur l'IBAN {iban} (BIC {bic}) en indiquant la référence de paiement, sous {days} jours.",
        "reverse_charge": "Autoliquidation",
        "outside_scope": "TVA non applicable : prestation hors du champ de la TVA de l'UE (article 44 de la directive 2006/112/CE)",
    },
}

LOCALES = {"en": "en_GB", "fr": "fr_FR"}


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def vat_wording(language: str, tax_treatment: str, exemption_text: str | None) -> str | None:
    """The legal mention the invoice must carry when it charges no VAT."""
    if tax_treatment == "exempt":
        return exemption_text
    if tax_treatment in ("reverse_charge", "outside_scope"):
        return labels_for(language)[tax_treatment]
    return None
