"""A deterministic sample account: organizations (premium partners and others), users, agents, groups,
an SLA policy and ~300 multilingual tickets about a video platform; plus the matching Slack members."""

from __future__ import annotations

import random
import unicodedata
from typing import Any

from .seed_content import AGENT_REPLIES, AMOUNTS, CODES, DEVICES, EVENTS, TOPIC_GROUP, TOPICS
from .slack import SlackState
from .zendesk import HelpdeskState

SEED = 20240501
PREMIUM_ORGS = [
    ("Studio Aurora", "studio-aurora.example"),
    ("Kino Nord", "kinonord.example"),
    ("Cine Sol", "cinesol.example"),
    ("Lumière Live", "lumiere-live.example"),
]
STANDARD_ORGS = [
    ("Pixel Arena", "pixelarena.example"),
    ("Teatro Verde", "teatroverde.example"),
    ("Bergfilm Verleih", "bergfilm.example"),
    ("Canal Andaluz", "canalandaluz.example"),
    ("Salle Rivoli", "sallerivoli.example"),
    ("Northwind Sports", "northwind-sports.example"),
    ("Harbor Church Media", "harborchurch.example"),
    ("Campus Live", "campuslive.example"),
]
# (name, e-mail, group, locale, Slack handle)
AGENTS = [
    ("Marta Rossi", "marta.rossi@deskmate.example", "Tier 1", "it", "marta"),
    ("Lukas Becker", "lukas.becker@deskmate.example", "Tier 1", "de", "lukas"),
    ("Sofía García", "sofia.garcia@deskmate.example", "Tier 1", "es", "sofia"),
    ("Camille Martin", "camille.martin@deskmate.example", "Tier 1", "fr", "camille"),
    ("James Carter", "james.carter@deskmate.example", "Tier 2", "en", "james"),
    ("Giulia Conti", "giulia.conti@deskmate.example", "Tier 2", "it", "giulia"),
    ("Hannah Weber", "hannah.weber@deskmate.example", "Tier 2", "de", "hannah"),
    ("Olivia Brooks", "olivia.brooks@deskmate.example", "Billing", "en", "olivia"),
]
FIRST_NAMES = {
    "en": ["Emma", "Noah", "Ava", "Liam", "Mia", "Ethan"],
    "it": ["Luca", "Chiara", "Marco", "Sara"],
    "es": ["Pablo", "Lucía", "Javier", "Carmen"],
    "de": ["Jonas", "Lea", "Felix", "Mara"],
    "fr": ["Louis", "Chloé", "Hugo", "Inès"],
}
LAST_NAMES = {
    "en": ["Smith", "Johnson", "Brown"],
    "it": ["Ferrari", "Esposito", "Romano"],
    "es": ["López", "Martínez", "Sánchez"],
    "de": ["Müller", "Schmidt", "Fischer"],
    "fr": ["Dubois", "Moreau", "Laurent"],
}
LOCALES = {"en": "en-US", "it": "it", "es": "es", "de": "de", "fr": "fr"}
ORG_LANG = {
    "Studio Aurora": "it",
    "Kino Nord": "de",
    "Cine Sol": "es",
    "Lumière Live": "fr",
    "Pixel Arena": "en",
    "Teatro Verde": "it",
    "Bergfilm Verleih": "de",
    "Canal Andaluz": "es",
    "Salle Rivoli": "fr",
    "Northwind Sports": "en",
    "Harbor Church Media": "en",
    "Campus Live": "en",
}
STATUS_WEIGHTS = {"new": 25, "open": 30, "pending": 15, "hold": 5, "solved": 20, "closed": 5}


def seed_helpdesk(
    state: HelpdeskState, *, tickets: int = 300, end_users: int = 60, now: float | None = None
) -> dict[str, Any]:
    """Fill `state` with the sample account (no webhooks fire); returns the facts tests rely on."""
    rng = random.Random(SEED)
    now = state.now() if now is None else now
    start = now - 14 * 86400
    groups = {
        name: state.create_group({"name": name, "description": f"{name} support"}, at=start)["id"]
        for name in ("Tier 1", "Tier 2", "Billing")
    }
    orgs: list[dict[str, Any]] = []
    for name, domain in PREMIUM_ORGS + STANDARD_ORGS:
        premium = (name, domain) in PREMIUM_ORGS
        created = state.create_organization(
            {
                "name": name,
                "domain_names": [domain],
                "tags": ["premium_partner"] if premium else ["standard"],
                "organization_fields": {"partner_tier": "premium" if premium else "standard"},
                "details": "Premium partner" if premium else "Standard customer",
            },
            at=start,
        )
        orgs.append(
            {"id": created["id"], "name": name, "domain": domain, "premium": premium, "lang": ORG_LANG[name]}
        )
    agents = []
    for name, email, group, locale, _handle in AGENTS:
        agent = state.create_user(
            {
                "name": name,
                "email": email,
                "role": "agent",
                "locale": LOCALES[locale],
                "default_group_id": groups[group],
            },
            at=start,
        )
        agents.append(
            {"id": agent["id"], "name": name, "email": email, "group": group, "group_id": groups[group]}
        )
    users: list[dict[str, Any]] = []
    org: dict[str, Any] | None
    for n in range(end_users):
        if n % 3 == 2:  # a third have no organization (personal addresses)
            lang = rng.choice(list(FIRST_NAMES))
            org = None
            domain = "mail.example"
        else:
            org = orgs[n % len(orgs)]
            lang, domain = org["lang"], org["domain"]
        first, last = rng.choice(FIRST_NAMES[lang]), rng.choice(LAST_NAMES[lang])
        local = unicodedata.normalize("NFKD", f"{first}.{last}{n}".lower()).encode("ascii", "ignore").decode()
        email = f"{local}@{domain}"
        user = state.create_user(
            {"name": f"{first} {last}", "email": email, "locale": LOCALES[lang]}, at=start
        )
        users.append({"id": user["id"], "lang": lang, "org": org})
    state.create_sla_policy(
        {
            "title": "Premium partners: first reply in 90 minutes",
            "description": "Tickets from organizations tagged premium_partner",
            "filter": {
                "all": [{"field": "current_tags", "operator": "includes", "value": "premium_partner"}],
                "any": [],
            },
            "policy_metrics": [
                {"priority": p, "metric": "first_reply_time", "target": 90, "business_hours": False}
                for p in ("low", "normal", "high", "urgent")
            ],
        }
    )
    partner_form = max(state.ticket_forms)
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    for n in range(tickets):
        _seed_ticket(state, rng, n, users, agents, groups, statuses, weights, start, now, partner_form)
    return seed_facts(state)


def _seed_ticket(
    state: HelpdeskState,
    rng: random.Random,
    n: int,
    users: list[dict[str, Any]],
    agents: list[dict[str, Any]],
    groups: dict[str, int],
    statuses: list[str],
    weights: list[int],
    start: float,
    now: float,
    partner_form: int,
) -> None:
    user = users[rng.randrange(len(users))]
    lang = user["lang"]
    topic = rng.choice(list(TOPICS))
    if topic == "partner_ingest" and not user["org"]:
        topic = "live_buffering"
    subject, body = TOPICS[topic][lang]
    fill = {
        "event": rng.choice(EVENTS),
        "device": rng.choice(DEVICES[lang]),
        "code": rng.choice(CODES),
        "amount": AMOUNTS[lang],
    }
    status = rng.choices(statuses, weights)[0]
    created = start + (now - start - 3600) * (n / 300) + rng.uniform(0, 1800)
    premium = bool(user["org"] and user["org"]["premium"])
    fields: dict[str, Any] = {
        "subject": subject.format(**fill),
        "comment": {"body": body.format(**fill)},
        "requester_id": user["id"],
        "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]) if rng.random() < 0.8 else None,
        "type": rng.choice(["question", "incident", "problem", "task"]) if rng.random() < 0.6 else None,
        "tags": [topic, lang],
        "ticket_form_id": partner_form if premium and rng.random() < 0.5 else None,
    }
    channel = rng.choices(["web", "email", "api"], [6, 3, 1])[0]
    ticket = state.create_ticket(fields, actor_id=user["id"], channel=channel, at=created, fire=False)
    if status == "new":
        return
    group = TOPIC_GROUP[topic] if not premium else "Tier 2"
    agent = rng.choice([a for a in agents if a["group"] == group])
    replied = created + rng.uniform(5, 240) * 60
    state.add_comment(ticket["id"], AGENT_REPLIES[lang], author_id=agent["id"], at=replied, fire=False)
    final = min(now, replied + rng.uniform(1, 48) * 3600) if status in ("solved", "closed") else replied
    state.update_ticket(
        ticket["id"],
        {"status": status, "group_id": groups[group], "assignee_id": agent["id"]},
        actor_id=agent["id"],
        at=final,
        fire=False,
    )


def seed_facts(state: HelpdeskState) -> dict[str, Any]:
    """What is in the account: organizations, groups, agents, counts."""
    with state.lock:
        return {
            "organizations": [
                {
                    "id": o["id"],
                    "name": o["name"],
                    "domain_names": o["domain_names"],
                    "tags": o["tags"],
                    "partner_tier": o["organization_fields"].get("partner_tier"),
                }
                for o in state.organizations.values()
            ],
            "groups": {g["name"]: g["id"] for g in state.groups.values()},
            "agents": [
                {
                    "id": u["id"],
                    "name": u["name"],
                    "email": u["email"],
                    "default_group_id": u["default_group_id"],
                }
                for u in state.users.values()
                if u["role"] == "agent"
            ],
            "admin": {"id": state.admin_id, "email": state.admin_email},
            "end_users": sum(1 for u in state.users.values() if u["role"] == "end-user"),
            "tickets": len(state.tickets),
            "sla_policies": [p["id"] for p in state.sla_policies.values()],
            "ticket_forms": {f["name"]: f["id"] for f in state.ticket_forms.values()},
        }


def seed_slack(state: SlackState) -> list[dict[str, Any]]:
    """Add the agents as Slack members with the same e-mails as in the helpdesk.

    Their ids are fixed (``U0`` and the handle, ``U0JAMES``) so that settings can name them: ``make run`` makes
    James (Tier 2) and Olivia (Billing) the approvers of billing actions.
    """
    members = []
    for name, email, _group, _locale, handle in AGENTS:
        if state.user_by_email(email) is None:
            members.append(state.add_user(handle, name, email, user_id=f"U0{handle.upper()}"))
    return members
