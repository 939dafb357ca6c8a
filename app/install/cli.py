"""``flask zendesk package|install|trust-installation|unsigned-sidebar`` and ``flask slack manifest``."""

from __future__ import annotations

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.accounts import AccountView, get_account, upsert_account
from app.clock import get_clock
from app.db import storage
from app.install.helpdesk import DEFAULT_GROUPS, InstallError, install
from app.install.package import ROOT, PackageRefused, build
from app.install.slack import slack_manifest
from app.models import Account

zendesk_cli = AppGroup("zendesk", help="Package the sidebar app and install Deskmate in a helpdesk account.")
slack_cli = AppGroup("slack", help="Slack app set-up.")


def _account(subdomain: str | None) -> AccountView:
    with storage.session() as session:
        query = sa.select(Account.id).where(Account.active.is_(True))
        ids = session.scalars(query.where(Account.subdomain == subdomain) if subdomain else query).all()
    if len(ids) != 1:
        raise click.UsageError("name the account with --account SUBDOMAIN" if ids or not subdomain
                               else f"no active account {subdomain!r}")
    view = get_account(ids[0])
    assert view is not None
    return view


def _service_url(value: str | None) -> str:
    return (value or current_app.config["DESKMATE"].public_url).rstrip("/")


@zendesk_cli.command("package")
@click.option("--service-url", help="Where the helpdesk reaches Deskmate (default: DESKMATE_PUBLIC_URL).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "dist",
              show_default=True)
def package_command(service_url: str | None, out_dir: Path) -> None:
    """Check every app rule, then write the upload zip (manifest, requirements, translations, logos)."""
    try:
        package = build(_service_url(service_url), out_dir=out_dir)
    except PackageRefused as exc:
        for finding in exc.findings:
            click.echo(str(finding), err=True)
        raise click.ClickException("the app package breaks the rules above; nothing was written") from None
    for finding in package.findings:
        click.echo(str(finding), err=True)
    click.echo(f"{package.path} ({len(package.data)} bytes, sha256 {package.sha256[:16]})")


@zendesk_cli.command("install")
@click.option("--account", "subdomain", help="The account's subdomain (optional when there is one).")
@click.option("--service-url", help="Where the helpdesk reaches Deskmate (default: DESKMATE_PUBLIC_URL).")
@click.option("--group", "groups", multiple=True, default=DEFAULT_GROUPS, show_default=True,
              help="A tier group to create if missing (repeat the option).")
@click.option("--with-app/--without-app", default=False, help="Also upload and install the sidebar app.")
def install_command(subdomain: str | None, service_url: str | None, groups: tuple[str, ...],
                    with_app: bool) -> None:
    """Create or update groups, webhook (its secret stored), triggers and optionally the app; rerunnable."""
    account = _account(subdomain)
    try:
        steps = install(current_app._get_current_object(), account,  # type: ignore[attr-defined]
                        service_url=_service_url(service_url), groups=groups, with_app=with_app)
    except PackageRefused as exc:
        raise click.ClickException(f"the app package breaks a rule: {exc}") from None
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    for step in steps:
        click.echo(str(step))
    changed = sum(step.changed for step in steps)
    click.echo(f"{changed} change(s) in {account.subdomain}" if changed
               else f"{account.subdomain}: nothing to do")


@zendesk_cli.command("trust-installation")
@click.option("--account", "subdomain")
@click.option("--installation-id", type=int, required=True)
@click.option("--app-id", type=int, required=True)
@click.option("--public-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The app's public key (PEM); fetched from the helpdesk on first load when not given.")
def trust_installation(subdomain: str | None, installation_id: int, app_id: int,
                       public_key_file: Path | None) -> None:
    """Accept signed sidebar loads from an app installation made outside ``install``."""
    from app.sidebar.keys import register_installation

    account = _account(subdomain)
    pem = public_key_file.read_text() if public_key_file else None
    if pem is not None and "BEGIN PUBLIC KEY" not in pem:
        raise click.UsageError("the public key file must be a PEM public key")
    result = register_installation(current_app, account_id=account.id, installation_id=installation_id,
                                   app_id=app_id, now=get_clock().now(), public_key_pem=pem)
    click.echo(f"installation {installation_id}: {'trusted' if result['created'] else 'updated'}"
               if result["changed"] else f"installation {installation_id}: unchanged")


@zendesk_cli.command("unsigned-sidebar")
@click.option("--account", "subdomain")
@click.option("--allow/--refuse", required=True, help="Serve GET /sidebar/ without the helpdesk's signature.")
def unsigned_sidebar(subdomain: str | None, allow: bool) -> None:
    """Allow or refuse unsigned sidebar loads (off by default; for development and the sandbox only)."""
    account = _account(subdomain)
    settings = dict(account.settings)
    settings["sidebar"] = {**(settings.get("sidebar") or {}), "allow_unsigned": allow}
    upsert_account(current_app, subdomain=account.subdomain, now=get_clock().now(), settings=settings)
    click.echo(f"{account.subdomain}: unsigned sidebar loads {'allowed' if allow else 'refused'}")


@slack_cli.command("manifest")
@click.option("--public-url", help="Where Slack reaches Deskmate (default: DESKMATE_PUBLIC_URL).")
@click.option("--name", default="Deskmate", show_default=True)
def manifest_command(public_url: str | None, name: str) -> None:
    """Print the Slack app manifest (JSON) with the scopes, interactivity URL and bot user Deskmate needs."""
    click.echo(json.dumps(slack_manifest(_service_url(public_url), name=name), indent=2))
