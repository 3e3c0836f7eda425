"""The registry of payment providers, by name.

Adapters are imported when first asked for, so importing the registry stays cheap.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.utils.module_loading import import_string

from tessera.payments.providers.base import PaymentProvider, UnknownProvider

# name → an adapter class (by dotted path) whose ``from_settings()`` reads the configuration,
# or any zero-argument callable returning an adapter.
_FACTORIES: dict[str, str | Callable[[], PaymentProvider]] = {
    "sandbox": "tessera.payments.providers.sandbox.SandboxProvider",
    "alipay": "tessera.payments.providers.alipay.AlipayProvider",
    "wechat": "tessera.payments.providers.wechat.WeChatPayProvider",
    "box_office": "tessera.payments.providers.box_office.BoxOfficeProvider",
}
_overrides: dict[str, PaymentProvider] = {}
# Providers that take no money online (staff record it at the counter): never offered to
# buyers, never started by a buyer's checkout (``payments.services.clean_options``).
OFFLINE = frozenset({"box_office"})


def register(name: str, factory: str | Callable[[], PaymentProvider]) -> None:
    """Add (or replace) a provider: the dotted path of an adapter class with
    ``from_settings()``, or a callable returning an adapter."""
    _FACTORIES[name] = factory


def provider_names() -> list[str]:
    """The providers a buyer may pay with online (the box office is not one)."""
    return sorted(set(_FACTORIES) - OFFLINE)


def get_provider(name: str) -> PaymentProvider:
    """The configured adapter for ``name``.

    Raises UnknownProvider for a name nobody registered, ProviderUnavailable when the
    provider is registered but not configured on this installation.
    """
    if name in _overrides:
        return _overrides[name]
    factory = _FACTORIES.get(name)
    if factory is None:
        raise UnknownProvider
    if isinstance(factory, str):
        return import_string(factory).from_settings()
    return factory()


@contextmanager
def use_provider(provider: PaymentProvider) -> Iterator[PaymentProvider]:
    """Use this very adapter instance for its name while the block runs (tests, and
    callers that build an adapter with explicit keys)."""
    previous = _overrides.get(provider.name)
    _overrides[provider.name] = provider
    try:
        yield provider
    finally:
        if previous is None:
            _overrides.pop(provider.name, None)
        else:
            _overrides[provider.name] = previous
