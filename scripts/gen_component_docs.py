"""Regenerate docs/components/*.md from the component registry."""

from __future__ import annotations

from pathlib import Path

from etl_core.components.docs import all_pages

OUT = Path(__file__).resolve().parent.parent / "docs" / "components"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pages = all_pages()
    for stale in OUT.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} pages to {OUT}")


if __name__ == "__main__":
    main()
