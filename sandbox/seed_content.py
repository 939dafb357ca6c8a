"""Ticket texts for the sample account: a video platform's support queue in five languages."""

from __future__ import annotations

# topic -> language -> (subject, body); {event}, {device}, {code}, {amount} are filled in by the seeder.
TOPICS: dict[str, dict[str, tuple[str, str]]] = {
    "live_buffering": {
        "en": (
            "Live stream keeps buffering during {event}",
            "The live stream of {event} stops every few seconds on my {device}. My connection is fine, "
            "other sites work. Can you check your servers?",
        ),
        "it": (
            "La diretta si blocca durante {event}",
            "Sto guardando {event} in diretta ma il video si blocca ogni pochi secondi sul mio {device}. "
            "La connessione funziona bene. Potete verificare?",
        ),
        "es": (
            "La transmisión en vivo se corta durante {event}",
            "La transmisión de {event} se detiene cada pocos segundos en mi {device}. Mi conexión es buena. "
            "¿Pueden revisarlo, por favor?",
        ),
        "de": (
            "Livestream ruckelt bei {event}",
            "Der Livestream von {event} bleibt auf meinem {device} alle paar Sekunden hängen. Meine "
            "Verbindung ist stabil. Könnt ihr das bitte prüfen?",
        ),
        "fr": (
            "Le direct coupe pendant {event}",
            "Le direct de {event} s'arrête toutes les quelques secondes sur mon {device}. Ma connexion "
            "fonctionne très bien. Pouvez-vous vérifier ?",
        ),
    },
    "ppv_refund": {
        "en": (
            "Refund for pay-per-view {event}",
            "I paid {amount} for the pay-per-view of {event} but the stream never started. "
            "I would like a refund please.",
        ),
        "it": (
            "Rimborso pay-per-view {event}",
            "Ho pagato {amount} per il pay-per-view di {event} ma lo streaming non è mai partito. "
            "Chiedo il rimborso.",
        ),
        "es": (
            "Reembolso del pago por visión {event}",
            "Pagué {amount} por el pago por visión de {event} y la emisión nunca empezó. "
            "Solicito el reembolso.",
        ),
        "de": (
            "Erstattung Pay-per-View {event}",
            "Ich habe {amount} für das Pay-per-View von {event} bezahlt, aber der Stream ist nie gestartet. "
            "Bitte erstattet mir den Betrag.",
        ),
        "fr": (
            "Remboursement du pay-per-view {event}",
            "J'ai payé {amount} pour le pay-per-view de {event} mais la diffusion n'a jamais commencé. "
            "Je demande un remboursement.",
        ),
    },
    "playback_error": {
        "en": ("Playback error {code}", "Every video shows error {code} on my {device} since this morning."),
        "it": (
            "Errore di riproduzione {code}",
            "Da stamattina ogni video mostra l'errore {code} sul mio {device}.",
        ),
        "es": (
            "Error de reproducción {code}",
            "Desde esta mañana todos los vídeos muestran el error {code} en mi {device}.",
        ),
        "de": (
            "Wiedergabefehler {code}",
            "Seit heute Morgen zeigt jedes Video auf meinem {device} den Fehler {code}.",
        ),
        "fr": (
            "Erreur de lecture {code}",
            "Depuis ce matin chaque vidéo affiche l'erreur {code} sur mon {device}.",
        ),
    },
    "subscription": {
        "en": (
            "Charged twice for my subscription",
            "My card was charged {amount} twice this month for the annual subscription. Please fix it.",
        ),
        "it": (
            "Abbonamento addebitato due volte",
            "Questo mese mi avete addebitato {amount} due volte per l'abbonamento annuale.",
        ),
        "es": (
            "Cobro doble de la suscripción",
            "Este mes me cobraron {amount} dos veces por la suscripción anual. Por favor, corríjanlo.",
        ),
        "de": (
            "Abo doppelt abgebucht",
            "Diesen Monat wurden {amount} für das Jahresabo zweimal abgebucht. Bitte korrigiert das.",
        ),
        "fr": (
            "Abonnement débité deux fois",
            "Ce mois-ci, {amount} ont été débités deux fois pour l'abonnement annuel. Merci de corriger.",
        ),
    },
    "login": {
        "en": (
            "Cannot log in on {device}",
            "The app on my {device} says my password is wrong, but it works on the web.",
        ),
        "it": (
            "Non riesco ad accedere da {device}",
            "L'app sul mio {device} dice che la password è sbagliata, ma dal sito funziona.",
        ),
        "es": (
            "No puedo iniciar sesión en {device}",
            "La aplicación de mi {device} dice que la contraseña es incorrecta, pero en la web funciona.",
        ),
        "de": (
            "Anmeldung auf {device} nicht möglich",
            "Die App auf meinem {device} sagt, mein Passwort sei falsch, im Browser klappt es aber.",
        ),
        "fr": (
            "Impossible de me connecter sur {device}",
            "L'application sur mon {device} indique un mot de passe incorrect, alors que le site fonctionne.",
        ),
    },
    "audio_sync": {
        "en": (
            "Audio out of sync on {event}",
            "On {event} the audio is about two seconds behind the picture.",
        ),
        "it": ("Audio non sincronizzato su {event}", "Su {event} l'audio è in ritardo di circa due secondi."),
        "es": (
            "Audio desincronizado en {event}",
            "En {event} el audio va unos dos segundos por detrás de la imagen.",
        ),
        "de": ("Ton asynchron bei {event}", "Bei {event} hängt der Ton etwa zwei Sekunden hinter dem Bild."),
        "fr": (
            "Son décalé sur {event}",
            "Sur {event}, le son a environ deux secondes de retard sur l'image.",
        ),
    },
    "captions": {
        "en": (
            "Subtitles missing on replay",
            "The replay of {event} has no subtitles although the live had them.",
        ),
        "it": (
            "Sottotitoli mancanti nella replica",
            "La replica di {event} non ha i sottotitoli, la diretta sì.",
        ),
        "es": (
            "Faltan subtítulos en la repetición",
            "La repetición de {event} no tiene subtítulos, el directo sí.",
        ),
        "de": (
            "Untertitel fehlen in der Wiederholung",
            "Die Wiederholung von {event} hat keine Untertitel, der Livestream hatte welche.",
        ),
        "fr": (
            "Sous-titres absents du replay",
            "Le replay de {event} n'a pas de sous-titres, le direct en avait.",
        ),
    },
    "partner_ingest": {
        "en": (
            "Ingest failing for our channel before {event}",
            "Our encoder cannot connect to the RTMP ingest ({code}). {event} starts in two hours.",
        ),
        "it": (
            "Ingest non funzionante prima di {event}",
            "Il nostro encoder non si collega all'ingest RTMP ({code}). {event} inizia tra due ore.",
        ),
        "es": (
            "Falla la ingesta antes de {event}",
            "Nuestro codificador no conecta con la ingesta RTMP ({code}). {event} empieza en dos horas.",
        ),
        "de": (
            "Ingest schlägt vor {event} fehl",
            "Unser Encoder verbindet sich nicht mit dem RTMP-Ingest ({code}). "
            "{event} beginnt in zwei Stunden.",
        ),
        "fr": (
            "Échec de l'ingest avant {event}",
            "Notre encodeur n'arrive pas à joindre l'ingest RTMP ({code}). "
            "{event} commence dans deux heures.",
        ),
    },
}

TOPIC_GROUP = {
    "ppv_refund": "Billing",
    "subscription": "Billing",
    "partner_ingest": "Tier 2",
    "live_buffering": "Tier 1",
    "playback_error": "Tier 1",
    "login": "Tier 1",
    "audio_sync": "Tier 1",
    "captions": "Tier 1",
}

EVENTS = [
    "the Champions Cup final",
    "the Verona Jazz Night",
    "the Berlin Marathon",
    "la Gala de Sevilla",
    "le Festival de Lyon",
    "the eSports Masters",
    "the Alpine Ski Classic",
    "the Autumn Opera Premiere",
]
DEVICES = {
    "en": ["smart TV", "iPhone", "Android tablet", "laptop", "Chromecast"],
    "it": ["smart TV", "iPhone", "tablet Android", "portatile", "Chromecast"],
    "es": ["smart TV", "iPhone", "tablet Android", "portátil", "Chromecast"],
    "de": ["Smart-TV", "iPhone", "Android-Tablet", "Laptop", "Chromecast"],
    "fr": ["smart TV", "iPhone", "tablette Android", "ordinateur portable", "Chromecast"],
}
CODES = ["E-1003", "E-2041", "PLY-500", "DRM-17", "NET-408", "RTMP-32"]
AMOUNTS = {"en": "$14.99", "it": "14,99 €", "es": "14,99 €", "de": "14,99 €", "fr": "14,99 €"}

AGENT_REPLIES = {
    "en": "Thanks for reaching out! We are looking into this and will get back to you shortly.",
    "it": "Grazie per averci scritto! Stiamo verificando e ti aggiorneremo a breve.",
    "es": "¡Gracias por escribirnos! Lo estamos revisando y te responderemos pronto.",
    "de": "Danke für deine Nachricht! Wir schauen uns das an und melden uns in Kürze.",
    "fr": "Merci de nous avoir contactés ! Nous vérifions et revenons vers vous rapidement.",
}
