"""``oasis user ...`` and ``oasis token ...``."""

from __future__ import annotations

import click

from controller import auth
from controller.auth import ROLES, AuthError
from controller.cli.context import CliContext, emit
from core.store import iso, now

pass_ctx = click.make_pass_decorator(CliContext)


def _fail(exc: AuthError) -> None:
    raise click.ClickException(exc.message)


@click.group()
def user() -> None:
    """Admin users and roles (viewer, operator, admin)."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--locale", type=click.Choice(auth.LOCALES), default=None,
              help="Language of the admin UI for this user (default: the browser's, then Arabic).")
@click.password_option(help="Prompted (twice, hidden) when not given.")
@pass_ctx
def user_add(obj: CliContext, username: str, role: str, password: str,
             locale: str | None) -> None:
    """Add an admin user."""
    try:
        created = auth.create_user(obj.store, username, password, role, obj.actor, locale=locale)
    except AuthError as exc:
        _fail(exc)
    click.echo(f"user {created.username} added with role {created.role}")


@user.command("locale")
@click.argument("username")
@click.argument("locale", type=click.Choice([*auth.LOCALES, "browser"]))
@pass_ctx
def user_locale(obj: CliContext, username: str, locale: str) -> None:
    """Set the language of the admin UI for a user (``browser``: follow the browser's)."""
    try:
        auth.set_locale(obj.store, username, None if locale == "browser" else locale, obj.actor)
    except AuthError as exc:
        _fail(exc)
    click.echo(f"{username} reads the admin UI in {locale}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def user_list(obj: CliContext, as_json: bool) -> None:
    emit([u.__dict__ for u in auth.list_users(obj.store)], ["username", "role", "locale"], as_json)


@user.command("passwd")
@click.argument("username")
@click.password_option()
@pass_ctx
def user_passwd(obj: CliContext, username: str, password: str) -> None:
    """Set a user's password."""
    try:
        auth.set_password(obj.store, username, password, obj.actor)
    except AuthError as exc:
        _fail(exc)
    click.echo(f"password of {username} changed")


@user.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@pass_ctx
def user_role(obj: CliContext, username: str, role: str) -> None:
    """Change a user's role."""
    try:
        auth.set_role(obj.store, username, role, obj.actor)
    except AuthError as exc:
        _fail(exc)
    click.echo(f"{username} is now {role}")


@user.command("logout")
@click.argument("username")
@pass_ctx
def user_logout(obj: CliContext, username: str) -> None:
    """Sign a user out of every admin session (their browsers must sign in again)."""
    click.echo(f"ended {auth.end_sessions(obj.store, username, obj.actor)} session(s)")


@click.group()
def token() -> None:
    """API tokens for the REST API (Authorization: Bearer ...)."""


@token.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--expires-in", "expires_in", metavar="LIFETIME",
              help="12h, 90d, 4w... or 'never' [default: admin.token_days].")
@pass_ctx
def token_create(obj: CliContext, username: str, name: str, expires_in: str | None) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    try:
        lifetime = (auth.parse_lifetime(expires_in) if expires_in is not None
                    else obj.config.admin.token_days * 86400.0)
        click.echo(auth.create_token(obj.store, username, name, obj.actor, lifetime))
    except AuthError as exc:
        _fail(exc)


@token.command("list")
@click.argument("username", required=False)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def token_list(obj: CliContext, username: str | None, as_json: bool) -> None:
    """Tokens (of USERNAME, or everyone's) with their expiry; never the tokens themselves."""
    at = now()
    rows = [{"id": t.id, "username": t.username, "name": t.name, "created_at": iso(t.created_at),
             "expires_at": iso(t.expires_at) if t.expires_at is not None else "never",
             "expired": t.expired(at), "last_used_at": iso(t.last_used_at)}
            for t in auth.list_tokens(obj.store, username)]
    emit(rows, ["id", "username", "name", "created_at", "expires_at", "expired", "last_used_at"],
         as_json)


@token.command("revoke")
@click.argument("username")
@click.option("--id", "token_id", type=click.IntRange(1, 2 ** 63 - 1),
              help="Revoke only this token (see 'oasis token list'); without it, all of them.")
@pass_ctx
def token_revoke(obj: CliContext, username: str, token_id: int | None) -> None:
    """Revoke one token of a user (--id), or every token of theirs."""
    if token_id is None:
        click.echo(f"revoked {auth.revoke_tokens(obj.store, username, obj.actor)} token(s)")
        return
    try:
        auth.revoke_token(obj.store, username, token_id, obj.actor)
    except AuthError as exc:
        _fail(exc)
    click.echo(f"revoked token {token_id} of {username}")

