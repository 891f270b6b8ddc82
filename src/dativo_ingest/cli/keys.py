"""``dativo keys create|list|revoke``: API keys for the AI context API, each bound to one requester."""

from __future__ import annotations

import typer

from dativo_ingest.cli.app import console, esc, print_json
from dativo_ingest.server.keys import create_key, list_keys, revoke_key
from dativo_ingest.store.database import MetadataStore

keys_app = typer.Typer(
    help="Create, list and revoke API keys (each bound to one requester).", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    requester: str = typer.Argument(..., help="The identity the key acts as (as named in the policy)."),
    label: str | None = typer.Option(None, "--label", help="A note to recognise the key by."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Create an API key for REQUESTER; the key is printed once and only its hash is kept."""
    key_id, key = create_key(MetadataStore.for_workspace(), requester, label)
    if as_json:
        print_json({"key_id": key_id, "requester": requester, "key": key})
        return
    console.print(
        esc(f"key id {key_id} for requester {requester} (shown once, store it safely):"), highlight=False
    )
    print(key)


@keys_app.command("list")
def keys_list(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List API keys (ids, requesters, creation and revocation times; never the keys)."""
    rows = list_keys(MetadataStore.for_workspace())
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        console.print(
            esc(f"{row['key_id']}  {row['requester']}  {row['created_at']}  {state}  {row['label'] or ''}"),
            highlight=False,
        )


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="Key id shown by `dativo keys list`.")) -> None:
    """Revoke an API key."""
    revoke_key(MetadataStore.for_workspace(), key_id)
    console.print(f"revoked {esc(key_id)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
