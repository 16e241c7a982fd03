"""``oasis user ...`` and ``oasis token ...``."""

from __future__ import annotations

import click

from controller import auth
from controller.auth import ROLES, AuthError
from controller.cli.context import CliContext, emit

pass_ctx = click.make_pass_decorator(CliContext)


def _fail(exc: AuthError) -> None:
    raise click.ClickException(exc.message)


@click.group()
def user() -> None:
    """Admin users and roles (viewer, operator, admin)."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.password_option(help="Prompted (twice, hidden) when not given.")
@pass_ctx
def user_add(obj: CliContext, username: str, role: str, password: str) -> None:
    """Add an admin user."""
    try:
        created = auth.create_user(obj.store, username, password, role, obj.actor)
    except AuthError as exc:
        _fail(exc)
    click.echo(f"user {created.username} added with role {created.role}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def user_list(obj: CliContext, as_json: bool) -> None:
    emit([u.__dict__ for u in auth.list_users(obj.store)], ["username", "role"], as_json)


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


@click.group()
def token() -> None:
    """API tokens for the REST API (Authorization: Bearer ...)."""


@token.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@pass_ctx
def token_create(obj: CliContext, username: str, name: str) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    try:
        click.echo(auth.create_token(obj.store, username, name, obj.actor))
    except AuthError as exc:
        _fail(exc)


@token.command("revoke")
@click.argument("username")
@pass_ctx
def token_revoke(obj: CliContext, username: str) -> None:
    """Revoke every token of a user."""
    click.echo(f"revoked {auth.revoke_tokens(obj.store, username, obj.actor)} token(s)")
