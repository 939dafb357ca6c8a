# ruff: noqa: RUF001  (French and Italian are written with typographic apostrophes and quotes)
"""What the actions say outside the sidebar, in English, French and Italian: the reply offered to the agent
for the customer (in the requester's language), the internal note on the ticket, and the Slack approval.

The sidebar's own texts are in ``sidebar_ui/i18n``; these are rendered on the server because they leave
Deskmate as plain text (a ticket comment, a Slack message).
"""

from __future__ import annotations

from babel.numbers import format_currency

from plugins.customer.models import CustomerAction

LANGUAGES = ("en", "fr", "it")

REPLIES: dict[str, dict[str, str]] = {
    "en": {
        "refund": "I have refunded {amount} for “{title}”. Depending on your bank, it shows on your statement "
                  "within 5 to 10 business days.",
        "reverse_duplicate": "You were charged twice for “{title}”: I have reversed the second charge of "
                             "{amount}. Depending on your bank, it shows on your statement within 5 to 10 "
                             "business days.",
        "cancel_subscription.now": "I have cancelled your subscription; it ends today and you will not be "
                                   "charged again.",
        "cancel_subscription.period_end": "I have cancelled your subscription: it stays active until {date} "
                                          "and will not renew.",
        "promo_code": "Here is a promo code for you: {code} ({discount}). Enter it at checkout.",
    },
    "fr": {
        "refund": "J’ai remboursé {amount} pour « {title} ». Selon votre banque, le remboursement apparaît "
                  "sur votre relevé sous 5 à 10 jours ouvrés.",
        "reverse_duplicate": "Vous avez été débité deux fois pour « {title} » : j’ai annulé le second débit "
                             "de {amount}. Selon votre banque, il apparaît sur votre relevé sous 5 à 10 jours "
                             "ouvrés.",
        "cancel_subscription.now": "J’ai résilié votre abonnement ; il prend fin aujourd’hui et vous ne serez "
                                   "plus débité.",
        "cancel_subscription.period_end": "J’ai résilié votre abonnement : il reste actif jusqu’au {date} et "
                                          "ne sera pas renouvelé.",
        "promo_code": "Voici un code promo pour vous : {code} ({discount}). Saisissez-le lors du paiement.",
    },
    "it": {
        "refund": "Ho rimborsato {amount} per «{title}». A seconda della banca, il rimborso compare "
                  "nell’estratto conto entro 5-10 giorni lavorativi.",
        "reverse_duplicate": "Ti è stato addebitato due volte «{title}»: ho stornato il secondo addebito di "
                             "{amount}. A seconda della banca, compare nell’estratto conto entro 5-10 giorni "
                             "lavorativi.",
        "cancel_subscription.now": "Ho annullato il tuo abbonamento: termina oggi e non ti verrà più "
                                   "addebitato nulla.",
        "cancel_subscription.period_end": "Ho annullato il tuo abbonamento: resta attivo fino al {date} e non "
                                          "verrà rinnovato.",
        "promo_code": "Ecco un codice promozionale per te: {code} ({discount}). Inseriscilo al pagamento.",
    },
}

NOTES: dict[str, dict[str, str]] = {
    "en": {
        "refund": "Deskmate: {agent} refunded {amount} for “{title}” (reason: {reason}). Billing reference "
                  "{reference}.",
        "reverse_duplicate": "Deskmate: {agent} reversed a duplicate charge of {amount} for “{title}”. Billing "
                             "reference {reference}.",
        "cancel_subscription": "Deskmate: {agent} cancelled the subscription ({when}). Billing reference "
                               "{reference}.",
        "promo_code": "Deskmate: {agent} issued promo code {code} from campaign {campaign}.",
        "approved": " Approved by {approver}.",
        "declined": "Deskmate: {approver} declined {agent}'s request: {what}.",
        "when.now": "ends now", "when.period_end": "ends at the end of the paid period",
    },
    "fr": {
        "refund": "Deskmate : {agent} a remboursé {amount} pour « {title} » (motif : {reason}). Référence de "
                  "facturation {reference}.",
        "reverse_duplicate": "Deskmate : {agent} a annulé un double débit de {amount} pour « {title} ». "
                             "Référence de facturation {reference}.",
        "cancel_subscription": "Deskmate : {agent} a résilié l’abonnement ({when}). Référence de facturation "
                               "{reference}.",
        "promo_code": "Deskmate : {agent} a émis le code promo {code} de la campagne {campaign}.",
        "approved": " Approuvé par {approver}.",
        "declined": "Deskmate : {approver} a refusé la demande de {agent} : {what}.",
        "when.now": "fin immédiate", "when.period_end": "fin à l’échéance de la période payée",
    },
    "it": {
        "refund": "Deskmate: {agent} ha rimborsato {amount} per «{title}» (motivo: {reason}). Riferimento di "
                  "fatturazione {reference}.",
        "reverse_duplicate": "Deskmate: {agent} ha stornato un addebito doppio di {amount} per «{title}». "
                             "Riferimento di fatturazione {reference}.",
        "cancel_subscription": "Deskmate: {agent} ha annullato l’abbonamento ({when}). Riferimento di "
                               "fatturazione {reference}.",
        "promo_code": "Deskmate: {agent} ha emesso il codice promozionale {code} della campagna {campaign}.",
        "approved": " Approvato da {approver}.",
        "declined": "Deskmate: {approver} ha rifiutato la richiesta di {agent}: {what}.",
        "when.now": "termina subito", "when.period_end": "termina alla fine del periodo pagato",
    },
}

# What an action is, in a line (Slack approvals, the declined note, the admin page).
SUMMARIES: dict[str, dict[str, str]] = {
    "en": {"refund": "refund {amount} for “{title}”", "reverse_duplicate": "reverse a duplicate charge of "
           "{amount} for “{title}”", "cancel_subscription.now": "cancel the subscription now",
           "cancel_subscription.period_end": "cancel the subscription at the end of the paid period",
           "promo_code": "issue a promo code from campaign {campaign}"},
    "fr": {"refund": "rembourser {amount} pour « {title} »", "reverse_duplicate": "annuler un double débit de "
           "{amount} pour « {title} »", "cancel_subscription.now": "résilier l’abonnement tout de suite",
           "cancel_subscription.period_end": "résilier l’abonnement à la fin de la période payée",
           "promo_code": "émettre un code promo de la campagne {campaign}"},
    "it": {"refund": "rimborsare {amount} per «{title}»", "reverse_duplicate": "stornare un addebito doppio di "
           "{amount} per «{title}»", "cancel_subscription.now": "annullare subito l’abbonamento",
           "cancel_subscription.period_end": "annullare l’abbonamento alla fine del periodo pagato",
           "promo_code": "emettere un codice promozionale della campagna {campaign}"},
}


def language(locale: str | None) -> str:
    """``fr-CA`` -> ``fr``; a language we do not speak -> ``en``."""
    base = (locale or "en").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


def money(amount: int | None, currency: str | None, locale: str | None) -> str:
    """Minor units as the locale writes money: ``€9.99``, ``9,99 €``."""
    if amount is None or not currency:
        return ""
    from plugins.customer.money import to_major

    return format_currency(to_major(amount, currency), currency, locale=language(locale))


def _variant(action: CustomerAction) -> str:
    return f"{action.kind}.{action.option or 'now'}" if action.kind == "cancel_subscription" else action.kind


def _values(action: CustomerAction, locale: str | None) -> dict[str, str]:
    result = action.result or {}
    return {"amount": money(action.amount, action.currency, locale), "title": action.purchase_title or "",
            "reason": action.reason or "", "reference": action.billing_reference or "",
            "code": str(result.get("code") or action.billing_reference or ""),
            "discount": str(result.get("discount") or ""), "campaign": action.option or "",
            "date": str(result.get("ends_on") or ""), "agent": action.agent_name or f"agent {action.agent_id}",
            "approver": action.approver_name or action.approver_slack_id or ""}


def reply(action: CustomerAction) -> str:
    """The message for the customer, in their language, about an action that was done."""
    lang = language(action.requester_locale)
    return REPLIES[lang][_variant(action)].format(**_values(action, action.requester_locale))


def summary(action: CustomerAction, locale: str | None = "en") -> str:
    return SUMMARIES[language(locale)][_variant(action)].format(**_values(action, locale))


def note(action: CustomerAction, locale: str | None) -> str:
    """The internal note left on the ticket when an action was done (or a lead declined it)."""
    lang = language(locale)
    texts = NOTES[lang]
    values = _values(action, locale)
    if action.state == "declined":
        return texts["declined"].format(what=summary(action, locale), **values)
    if action.kind == "cancel_subscription":
        values["when"] = texts[f"when.{action.option or 'now'}"]
    line = texts[action.kind].format(**values)
    if action.approver_name or action.approver_slack_id:
        line += texts["approved"].format(**values)
    return line
