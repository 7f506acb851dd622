"""Proxies and CA bundles from the environment mapping, without requests' `trust_env`.

requests' `trust_env` does three things: proxies from `*_PROXY`, a CA bundle from
`REQUESTS_CA_BUNDLE`, and credentials from `~/.netrc`, which replace our
`Authorization: Bearer` header (even after a redirect to the same host) and are sent as
Basic auth when no key is set. chatrepl turns `trust_env` off and does the first two
here, from the `Environment`'s variables, so a netrc file is never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def _get(env: Mapping[str, str], name: str) -> str:
    # curl and requests read the lower-case spelling first
    return (env.get(name.lower()) or env.get(name.upper()) or "").strip()


@dataclass(frozen=True, slots=True)
class NetworkEnv:
    """The proxies, the hosts that bypass them, and the CA bundle to verify TLS with."""

    proxies: Mapping[str, str] = field(default_factory=dict)
    no_proxy: tuple[str, ...] = ()
    ca_bundle: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NetworkEnv:
        """Read `http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, `REQUESTS_CA_BUNDLE`,
        `CURL_CA_BUNDLE` (either case) from the variables."""
        proxies = {}
        for scheme in ("http", "https", "all"):
            value = _get(env, f"{scheme}_proxy")
            if value:
                proxies[scheme] = value
        bypass = tuple(
            entry.strip().lower().lstrip(".")
            for entry in _get(env, "no_proxy").split(",")
            if entry.strip()
        )
        bundle = _get(env, "REQUESTS_CA_BUNDLE") or _get(env, "CURL_CA_BUNDLE") or None
        return cls(proxies, bypass, bundle)

    def proxies_for(self, url: str) -> dict[str, str]:
        """The proxies to use for `url` (none when `no_proxy` names its host)."""
        if not self.proxies:
            return {}
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        for entry in self.no_proxy:
            if entry == "*":
                return {}
            name, _, entry_port = entry.partition(":")
            if entry_port and port is not None and entry_port != str(port):
                continue
            if host == name or host.endswith("." + name):
                return {}
        return dict(self.proxies)

    @property
    def verify(self) -> str | bool:
        """What requests' `verify` should be: the CA bundle, or the default trust store."""
        return self.ca_bundle or True
