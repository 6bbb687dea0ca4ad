"""Write a `.env` with freshly generated strong secrets (used by `make install` when no .env exists)."""

from __future__ import annotations

import secrets
import string
import sys
from pathlib import Path

SYMBOLS = "-_.~+=@%^*!"
ALPHABET = string.ascii_letters + string.digits + SYMBOLS


def strong_secret(length: int = 48) -> str:
    """A random secret that meets the server's policy: every character class, many distinct characters."""
    rng = secrets.SystemRandom()
    while True:
        chars = [rng.choice(ALPHABET) for _ in range(length)]
        text = "".join(chars)
        if (
            any(c.isupper() for c in text)
            and any(c.islower() for c in text)
            and any(c.isdigit() for c in text)
            and any(c in SYMBOLS for c in text)
            and text[0] not in SYMBOLS
            and text[-1] not in SYMBOLS
            and len(set(text)) >= 16
        ):
            return text


def main(path: str) -> None:
    target = Path(path)
    if target.exists():
        print(f"{target} exists; leaving it alone")
        return
    example = Path(".env_example").read_text(encoding="utf-8") if Path(".env_example").exists() else ""
    lines = []
    for line in example.splitlines():
        if line.startswith("ETL_AUTH_CLIENT_SECRET="):
            line = f"ETL_AUTH_CLIENT_SECRET={strong_secret()}"
        elif line.startswith("ETL_AUTH_SIGNING_KEY="):
            line = f"ETL_AUTH_SIGNING_KEY={strong_secret()}"
        lines.append(line)
    if not any(line.startswith("ETL_AUTH_CLIENT_SECRET=") for line in lines):
        lines += [f"ETL_AUTH_CLIENT_SECRET={strong_secret()}", f"ETL_AUTH_SIGNING_KEY={strong_secret()}"]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target.chmod(0o600)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
