"""API keys: shown once, stored hashed, map to their user, revoked keys stop at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rag_core.access.api_keys import ApiKeyStore


def test_a_key_maps_to_its_user_and_only_its_hash_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "state" / "api-keys.sqlite3"
    keys = ApiKeyStore(path)
    record, key = keys.create("hank", "teams bot")
    _, other_key = keys.create("erin")
    assert key.startswith(f"rdk_{record.id}_") and key != other_key
    assert keys.user_of(key) == "hank" and keys.user_of(other_key) == "erin"
    assert path.stat().st_mode & 0o077 == 0
    with sqlite3.connect(path) as db:
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM api_keys") for v in row)
    assert key.rsplit("_", 1)[1] not in stored, "the secret itself must never be stored"
    assert keys.list_keys("hank")[0].last_used_at is not None


def test_wrong_malformed_and_revoked_keys_name_nobody(tmp_path: Path) -> None:
    keys = ApiKeyStore(tmp_path / "k.sqlite3")
    record, key = keys.create("hank")
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert keys.user_of(forged) is None
    assert keys.user_of("") is None and keys.user_of("Bearer nonsense") is None
    assert keys.revoke(record.id)
    assert keys.user_of(key) is None
    assert not keys.revoke(record.id), "a key is revoked once"
    assert [k.active for k in keys.list_keys()] == [False]
