"""URL rules (SSRF). DNS is the outside world here: tests that need a name to resolve somewhere pass a resolver
that answers like a DNS server would; names in /etc/hosts (localhost) go through the real system resolver."""

from __future__ import annotations

import pytest

from webhooks.urlsafety import Target, UrlPolicy, UrlRefused, check_url, parse, system_resolver

OPEN = UrlPolicy(allow_loopback=True)
STRICT = UrlPolicy(allow_loopback=False)


def dns(*addresses: str):
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def refused(url: str, policy: UrlPolicy = OPEN, resolver=None) -> UrlRefused:
    arguments = (url, policy) if resolver is None else (url, policy, resolver)
    with pytest.raises(UrlRefused) as caught:
        check_url(*arguments)
    return caught.value


def test_public_https_url_is_accepted_with_the_checked_addresses():
    target = check_url(
        "https://hooks.example.com/a/b?x=1#frag", OPEN, dns("93.184.216.34", "2606:2800:220:1::1")
    )
    assert target == Target(
        url="https://hooks.example.com/a/b?x=1#frag",
        scheme="https",
        host="hooks.example.com",
        port=443,
        host_header="hooks.example.com",
        request_path="/a/b?x=1",
        addresses=("93.184.216.34", "2606:2800:220:1::1"),
    )


def test_ip_literal_needs_no_dns_and_keeps_its_port_in_the_host_header():
    target = check_url("https://93.184.216.34:8443/hook", OPEN, dns())
    assert target.addresses == ("93.184.216.34",)
    assert target.host_header == "93.184.216.34:8443"
    v6 = check_url("https://[2606:2800:220:1::1]/", OPEN, dns())
    assert v6.host == "2606:2800:220:1::1"
    assert v6.host_header == "[2606:2800:220:1::1]"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/hook",  # http to a public host
        "ftp://hooks.example.com/hook",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "hooks.example.com/hook",
        "https://",
        "https:///path",
        "https://user:pass@hooks.example.com/",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\nx",
        "",
    ],
)
def test_malformed_or_non_https_urls_are_refused(url):
    error = refused(url, resolver=dns("93.184.216.34"))
    assert error.kind == "invalid"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # carrier-grade NAT
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link-local"),
        ("100.100.100.200", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("192.0.2.10", "private"),  # documentation range
        ("240.0.0.1", "private"),  # reserved
        ("fd00:ec2::254", "metadata"),
        ("fc00::1", "private"),
        ("fe80::1", "link-local"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("::", "unspecified"),
    ],
)
def test_non_global_addresses_are_refused_by_name_and_by_literal(address, reason):
    by_name = refused("https://internal.example.com/hook", resolver=dns(address))
    assert by_name.kind == "address"
    assert reason in by_name.message
    literal = f"[{address}]" if ":" in address else address
    assert refused(f"https://{literal}/hook", resolver=dns()).kind == "address"


def test_one_refused_address_among_several_refuses_the_url():
    error = refused("https://rebind.example.com/", resolver=dns("93.184.216.34", "10.1.2.3"))
    assert "10.1.2.3" in error.message


def test_loopback_is_allowed_over_http_for_local_development_only_when_the_policy_allows_it():
    for url in ("http://127.0.0.1:8000/hook", "http://[::1]:8000/hook", "https://127.0.0.2/hook"):
        assert check_url(url, OPEN).addresses
        assert refused(url, STRICT).kind == "address"
    # `localhost` goes through the system resolver (/etc/hosts).
    target = check_url("http://localhost:9000/hook", OPEN)
    assert target.host_header == "localhost:9000"
    assert all(address in ("127.0.0.1", "::1") for address in target.addresses)
    assert refused("http://localhost:9000/hook", STRICT).kind == "address"


def test_allow_list_names_hosts_addresses_and_networks():
    policy = UrlPolicy.from_entries(
        ["hooks.internal", "10.9.0.0/16", "192.168.1.7", "[fd12::1]"], allow_loopback=False
    )
    assert check_url("https://hooks.internal/x", policy, dns("10.0.0.5")).addresses == ("10.0.0.5",)
    assert check_url("https://other.internal/x", policy, dns("10.9.3.4")).addresses == ("10.9.3.4",)
    assert check_url("https://192.168.1.7/x", policy, dns()).addresses == ("192.168.1.7",)
    assert check_url("https://[fd12::1]/x", policy, dns()).addresses == ("fd12::1",)
    assert refused("https://other.internal/x", policy, dns("10.8.0.1")).kind == "address"
    # An allow-listed private host still needs https: http is for loopback only.
    assert refused("http://hooks.internal/x", policy, dns("10.0.0.5")).kind == "invalid"
    # Loopback can be allowed through the list even when the policy refuses it by default.
    assert check_url("http://127.0.0.1:5/x", UrlPolicy.from_entries(["127.0.0.1"], allow_loopback=False))


def test_unresolvable_hosts_are_refused():
    assert refused("https://nothing.invalid/x", resolver=dns()).kind == "dns"
    assert refused("https://nothing.invalid/x").kind == "dns"  # the real resolver


def test_parse_handles_idn_and_trailing_dots():
    target = parse("https://Bücher.Example./hook")
    assert target.host == "xn--bcher-kva.example"
    assert target.host_header == "xn--bcher-kva.example"


def test_system_resolver_returns_each_address_once():
    addresses = system_resolver("localhost", 80)
    assert addresses
    assert len(addresses) == len(set(addresses))
