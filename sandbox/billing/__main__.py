"""`python -m sandbox.billing --port 5103`: the billing emulator with the sandbox seed's customers."""

from __future__ import annotations

import click

from ..server import ServerThread
from .app import create_app
from .seed import seed_from_helpdesk
from .state import DEFAULT_SECRET, BillingState


@click.command()
@click.option("--port", default=5103, show_default=True, type=int)
@click.option("--secret", default=DEFAULT_SECRET, show_default=True, help="Sent as 'Authorization: Bearer'.")
def main(port: int, secret: str) -> None:
    """Serve sample customers for the e-mails of the sandbox's seeded end users."""
    from ..seed import seed_helpdesk
    from ..zendesk import HelpdeskState

    helpdesk = HelpdeskState()
    seed_helpdesk(helpdesk)
    helpdesk.close()
    state = BillingState(secret=secret)
    count = seed_from_helpdesk(state, helpdesk)
    server = ServerThread(create_app(state), port=port).start()
    click.echo(f"billing emulator on {server.url}/customers/<email> ({count} customers); Ctrl-C stops it")
    try:
        server._thread.join()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
