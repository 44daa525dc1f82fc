"""Where a webhook may point: public http(s) endpoints only.

The delivery worker runs inside the deployment's network, so a subscription URL is a way to make
Sheshi send requests to hosts a tenant cannot reach itself (the cloud metadata service, the
database, an internal admin page). A URL is accepted when its scheme is https (http only where
settings allow it), it carries no credentials, and every address its host resolves to is a
public unicast address. The check runs when the subscription is saved and again before every
delivery (the name may resolve elsewhere by then), and deliveries never follow redirects.
Development and tests deliver to 127.0.0.1: ``WEBHOOK_ALLOW_PRIVATE_HOSTS`` (off in production).
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from sheshi.errors import FieldError, ValidationFailed


def _refuse(reason: str, url: str) -> ValidationFailed:
    return ValidationFailed(f"Webhook URL refused: {reason}.",
                            errors=[FieldError("url", reason, code="webhook_url_refused", value=url)])


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(info[4][0].split("%", 1)[0])
                for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise _refuse(f"host {host} does not resolve ({exc})", host) from None


def _is_public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not (addr.is_multicast or addr.is_reserved or addr.is_unspecified)


def webhook_url_check(url: str) -> None:
    """Raise ValidationFailed unless ``url`` is a public http(s) endpoint (see the module doc)."""
    allow_private = getattr(settings, "WEBHOOK_ALLOW_PRIVATE_HOSTS", False)
    allow_http = allow_private or getattr(settings, "WEBHOOK_ALLOW_HTTP", False)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_http):
        raise _refuse("the scheme must be https", url)
    if parts.username or parts.password:
        raise _refuse("credentials in the URL are not accepted (the request is signed)", url)
    host = parts.hostname
    if not host:
        raise _refuse("no host", url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _refuse("the port is not a number", url) from None
    if allow_private:
        return
    private = [str(a) for a in _addresses(host, port) if not _is_public(a)]
    if private:
        raise _refuse(f"host {host} resolves to a non-public address ({', '.join(sorted(set(private)))})", url)
