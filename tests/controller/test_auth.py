import pytest

from controller import auth
from controller.auth import AuthError


def test_password_is_hashed_with_argon2_and_checked(store):
    auth.create_user(store, "Eng.Ali", "a-long-password", "operator", "test")
    stored = store.conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "a-long-password" not in stored
    user = auth.authenticate(store, "eng.ali", "a-long-password")
    assert user.role == "operator" and user.can("viewer") and not user.can("admin")
    assert auth.authenticate(store, "eng.ali", "wrong-password") is None
    assert auth.authenticate(store, "nobody", "a-long-password") is None


@pytest.mark.parametrize("username, password, role, field", [
    ("x", "a-long-password", "admin", "username"),
    ("ok-user", "short", "admin", "password"),
    ("ok-user", "a-long-password", "root", "role"),
])
def test_bad_user_input(store, username, password, role, field):
    with pytest.raises(AuthError) as err:
        auth.create_user(store, username, password, role, "test")
    assert err.value.field == field
    assert auth.list_users(store) == []


def test_tokens_are_stored_hashed_and_revocable(store):
    auth.create_user(store, "ci", "a-long-password", "viewer", "test")
    token = auth.create_token(store, "ci", "pipeline", "test")
    assert token not in repr(list(store.db.query("SELECT * FROM api_tokens")))
    assert auth.user_for_token(store, token).username == "ci"
    assert auth.user_for_token(store, token + "x") is None
    assert auth.user_for_token(store, "") is None
    assert auth.revoke_tokens(store, "ci", "test") == 1
    assert auth.user_for_token(store, token) is None
