"""Words: the Slack announcements and the widget's own labels in the languages it ships with."""

from __future__ import annotations

from typing import Any

from plugins.breaking_news import markup
from plugins.breaking_news.models import Incident, IncidentUpdate

SEVERITY_EMOJI = {"information": ":information_source:", "degraded": ":warning:",
                  "outage": ":rotating_light:", "maintenance": ":wrench:"}

# The widget's own words. A locale missing here falls back to its language, then to English.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "region": "Service status", "dismiss": "Dismiss this notice", "information": "Information",
        "degraded": "Degraded service", "outage": "Outage", "maintenance": "Scheduled maintenance",
        "investigating": "Investigating", "identified": "Identified", "monitoring": "Monitoring",
        "resolved": "Resolved", "updated": "Updated", "quick_links": "Before you write to us",
    },
    "it": {
        "region": "Stato del servizio", "dismiss": "Chiudi questo avviso", "information": "Informazione",
        "degraded": "Servizio rallentato", "outage": "Disservizio",
        "maintenance": "Manutenzione programmata", "investigating": "In analisi",
        "identified": "Causa individuata", "monitoring": "Sotto osservazione", "resolved": "Risolto",
        "updated": "Aggiornato", "quick_links": "Prima di scriverci",
    },
    "de": {
        "region": "Dienststatus", "dismiss": "Hinweis schließen", "information": "Information",
        "degraded": "Eingeschränkter Dienst", "outage": "Ausfall", "maintenance": "Geplante Wartung",
        "investigating": "Wird untersucht", "identified": "Ursache gefunden",
        "monitoring": "Wird beobachtet", "resolved": "Behoben", "updated": "Aktualisiert",
        "quick_links": "Bevor Sie uns schreiben",
    },
    "fr": {
        "region": "État du service", "dismiss": "Fermer cet avis", "information": "Information",
        "degraded": "Service dégradé", "outage": "Panne", "maintenance": "Maintenance planifiée",
        "investigating": "Analyse en cours", "identified": "Cause identifiée",
        "monitoring": "Sous surveillance", "resolved": "Résolu", "updated": "Mis à jour",
        "quick_links": "Avant de nous écrire",
    },
    "es": {
        "region": "Estado del servicio", "dismiss": "Cerrar este aviso", "information": "Información",
        "degraded": "Servicio degradado", "outage": "Interrupción",
        "maintenance": "Mantenimiento programado", "investigating": "Investigando",
        "identified": "Causa identificada", "monitoring": "En observación", "resolved": "Resuelto",
        "updated": "Actualizado", "quick_links": "Antes de escribirnos",
    },
    "pt": {
        "region": "Estado do serviço", "dismiss": "Fechar este aviso", "information": "Informação",
        "degraded": "Serviço degradado", "outage": "Interrupção", "maintenance": "Manutenção programada",
        "investigating": "Investigando", "identified": "Causa identificada", "monitoring": "Monitorando",
        "resolved": "Resolvido", "updated": "Atualizado", "quick_links": "Antes de nos escrever",
    },
}


def labels(chain: list[str]) -> dict[str, str]:
    """The widget's words in the first language of ``chain`` (best first) that they exist in."""
    for locale in chain:
        if locale in LABELS:
            return LABELS[locale]
    return LABELS["en"]


def _slack_escape(text: str) -> str:
    """Slack's three control characters; anything else in admin text is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _headline(incident: Incident) -> str:
    severity = LABELS["en"][incident.severity]
    return f"{SEVERITY_EMOJI[incident.severity]} {severity}: {incident.title}"


def published(incident: Incident, helpdesk_url: str) -> dict[str, Any]:
    """The channel post announcing an incident (also its resolved version, when updated)."""
    status = LABELS["en"][incident.status]
    when = (f"scheduled {incident.starts_at:%Y-%m-%d %H:%M} UTC"
            + (f" to {incident.ends_at:%Y-%m-%d %H:%M} UTC" if incident.ends_at else "")
            if incident.severity == "maintenance" or incident.ends_at else
            f"since {incident.starts_at:%Y-%m-%d %H:%M} UTC")
    headline = _headline(incident) + (" (resolved)" if incident.resolved_at else "")
    lines = [f"*{_slack_escape(headline)}*", f"Status: {status} · {when}"]
    if incident.affected_features:
        lines.append("Affected: " + _slack_escape(", ".join(incident.affected_features)))
    text = markup.to_text(incident.body)
    if text:
        lines.append(_slack_escape(text[:2500]))
    return {"text": headline,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]}


def updated(incident: Incident, update: IncidentUpdate) -> dict[str, Any]:
    """A thread reply for a status update."""
    status = LABELS["en"][update.status]
    text = markup.to_text(update.body)
    return {"text": f"{status}: {_slack_escape(text[:2500])}" if text else f"Status is now {status}."}


def transition(incident: Incident, what: str) -> dict[str, Any]:
    """A thread reply when a scheduled window opens or closes."""
    if what == "started":
        return {"text": "The scheduled window has started: the help-center banner is showing now."}
    return {"text": "The scheduled window has ended: the help-center banner is gone."}
