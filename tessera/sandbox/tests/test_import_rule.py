"""The sandbox gateway is a separate party: it imports nothing of the merchant's apps (payments,
orders, inventory and everything above them); payments imports the gateway, never the
reverse. Checked on the source, lazy imports inside functions included."""

import ast
from pathlib import Path

import pytest

SANDBOX = Path(__file__).resolve().parents[1]
# What the gateway may use of Tessera: the core helpers, the accounts of the back office, itself.
ALLOWED = ("tessera.core", "tessera.accounts", "tessera.sandbox")


def imported_modules(source: str, *, package: str) -> set[str]:
    """Every module a source file imports, at any depth, relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def forbidden(modules: set[str]) -> list[str]:
    return sorted(
        m
        for m in modules
        if (m == "tessera" or m.startswith("tessera."))
        and not any(m == a or m.startswith(a + ".") for a in ALLOWED)
    )


def _package_of(path: Path) -> str:
    return ".".join(["tessera", "sandbox", *path.relative_to(SANDBOX).parent.parts])


def _sandbox_sources() -> list[Path]:
    return sorted(p for p in SANDBOX.rglob("*.py") if "tests" not in p.relative_to(SANDBOX).parts)


def test_the_sandbox_imports_nothing_of_the_merchant():
    sources = _sandbox_sources()
    offending = {
        str(path.relative_to(SANDBOX)): forbidden(
            imported_modules(path.read_text(), package=_package_of(path))
        )
        for path in sources
    }

    assert {"services.py", "views.py", "delivery.py", "pagepay.py"} <= {
        str(p.relative_to(SANDBOX)) for p in sources
    }
    assert {path: bad for path, bad in offending.items() if bad} == {}


def test_payments_imports_the_sandbox_and_not_the_other_way_round():
    adapter = (SANDBOX.parent / "payments" / "providers" / "sandbox.py").read_text()

    assert "tessera.sandbox.services" in imported_modules(adapter, package="tessera.payments")


@pytest.mark.parametrize(
    ("source", "found"),
    [
        (
            "from tessera.payments.services import handle_callback",
            ["tessera.payments.services", "tessera.payments.services.handle_callback"],
        ),
        ("def f():\n    import tessera.orders.models", ["tessera.orders.models"]),
        ("from tessera import inventory", ["tessera", "tessera.inventory"]),
        ("from ..payments import models", ["tessera.payments", "tessera.payments.models"]),
        ("from tessera.core.errors import DomainError\nfrom . import signing", []),
    ],
)
def test_the_rule_sees_every_form_of_import(source, found):
    assert forbidden(imported_modules(source, package="tessera.sandbox")) == found
