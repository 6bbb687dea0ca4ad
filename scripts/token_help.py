"""Print how to get a token from the server `make run` is about to start (secrets read from .env)."""

from __future__ import annotations

from etl_core.settings import load_settings


def main() -> None:
    s = load_settings()
    base = f"http://{s.host}:{s.port}"
    print(f"etl-core API on {base} (store: {s.database_url}); interactive docs: {base}/docs")
    print("Get a token (client credentials from .env):")
    print(
        f"  TOKEN=$(curl -s -u '{s.auth_client_id}:{s.auth_client_secret}' -d grant_type=client_credentials "
        f"{base}/auth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    print(f'  curl -s -H "Authorization: Bearer $TOKEN" {base}/health')
    print("Or let the CLI fetch one itself: .venv/bin/etl jobs list")


if __name__ == "__main__":
    main()
