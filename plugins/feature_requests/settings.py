"""The feature-request settings: ``[plugins.feature_requests]`` in the config file, per-account overrides."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from app.api import NoticeTemplate, NoticeTemplates

# What a release message may say besides the requester's {name} and {first_name}.
RELEASE_PLACEHOLDERS = frozenset({"title", "changelog", "changelog_url", "changelog_text",
                                  "feature_request_id"})


class ReleaseText(BaseModel):
    """One language's release message: the follow-up ticket's subject and the comment's body."""

    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)


DEFAULT_RELEASE_TEXTS: dict[str, ReleaseText] = {
    "en": ReleaseText(
        subject="{title} is now available",
        body="Hi {first_name},\n\nYou asked us for \"{title}\". Good news: it is now available.\n"
             "{changelog}\nThank you for telling us what you needed.",
    ),
    "fr": ReleaseText(
        subject="{title} est disponible",
        body="Bonjour {first_name},\n\nVous nous aviez demandé « {title} ». "
             "Bonne nouvelle : c'est disponible.\n{changelog}\n"
             "Merci de nous avoir dit ce dont vous aviez besoin.",
    ),
    "de": ReleaseText(
        subject="{title} ist jetzt verfügbar",
        body="Hallo {first_name},\n\nSie hatten sich „{title}“ gewünscht. "
             "Gute Nachricht: Es ist jetzt verfügbar.\n{changelog}\n"
             "Danke, dass Sie uns gesagt haben, was Sie brauchen.",
    ),
    "es": ReleaseText(
        subject="{title} ya está disponible",
        body="Hola {first_name}:\n\nNos pidió «{title}». Buenas noticias: ya está disponible.\n{changelog}\n"
             "Gracias por contarnos lo que necesitaba.",
    ),
}


class FeatureRequestsSettings(BaseModel):
    """What an account can tune; every field has a default."""

    # Ticket tags of the form <prefix><id> link a ticket to a request (fr_42).
    tag_prefix: str = Field(default="fr_", min_length=1, max_length=20, pattern=r"^[a-z0-9_\-]+$")
    # Segments (from routing's routing.ticket_routed events) that count as premium partners.
    premium_segments: list[str] = Field(default_factory=lambda: ["premium_partner"])
    # Release messages per locale; the requester's helpdesk locale picks one, falling back to default_locale.
    release_texts: dict[str, ReleaseText] = Field(default_factory=lambda: dict(DEFAULT_RELEASE_TEXTS))
    default_locale: str = "en"
    # Tags added to the commented ticket or the follow-up when a requester is told.
    release_tags: list[str] = Field(default_factory=lambda: ["deskmate_feature_released"])
    # Suggestions of similar requests: how many, and the least cosine similarity worth showing.
    suggestion_limit: int = Field(default=5, ge=1, le=20)
    min_similarity: float = Field(default=0.12, ge=0, le=1)

    @model_validator(mode="after")
    def _check_release_texts(self) -> FeatureRequestsSettings:
        templates = self.release_templates()  # raises ValueError when the default locale has no text
        unknown = templates.unknown_placeholders(RELEASE_PLACEHOLDERS)
        if unknown:
            raise ValueError(f"release_texts use unknown placeholders: {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(RELEASE_PLACEHOLDERS | {'name', 'first_name'}))}")
        return self

    def release_templates(self) -> NoticeTemplates:
        return NoticeTemplates({locale: NoticeTemplate(text.subject, text.body)
                                for locale, text in self.release_texts.items()}, self.default_locale)
