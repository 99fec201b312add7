//! Who sent a request, and the address it was sent to: the client's IP (for rate
//! limits and login lockouts) and the scheme and host of the request (for absolute
//! links in feeds and the widget). The one place that reads `Forwarded` and
//! `X-Forwarded-*`, and it reads them only when the peer is a configured trusted
//! proxy (`--trusted-proxies`); from anyone else they are the client's own words
//! and are ignored. actix's `connection_info()` believes them from anyone, so it
//! must not be used for these decisions.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{HOST, HeaderMap};
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed (empty: none).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses IP addresses and CIDR ranges (`10.0.0.1`, `10.0.0.0/8`, `::1`);
    /// blank entries are skipped, a malformed one is named in the error.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for e in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let net = e
                .parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("trusted proxy {e:?} is not an IP address or CIDR range"))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:1.2.3.4`) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Every value of a header, split at commas, in order.
fn values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// The values of one parameter (`for`, `host`, `proto`) of the `Forwarded`
/// elements (RFC 7239), in order; `None` for an element without it.
fn forwarded(headers: &HeaderMap, param: &str) -> Vec<Option<String>> {
    values(headers, "forwarded")
        .into_iter()
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case(param)
                    .then(|| v.trim().trim_matches('"').to_owned())
            })
        })
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1` or
/// `[2001:db8::1]:80`. `None` for `unknown`, obfuscated names and the like.
fn address(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = v.parse::<SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    v.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|r| r.parse::<IpAddr>().ok())
        .map(canonical)
}

/// The chain of addresses a trusted proxy reports, client first:
/// `X-Forwarded-For`, or `Forwarded: for=` when there is no `X-Forwarded-For`.
/// Unreadable entries are `None`.
fn chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff = values(headers, "x-forwarded-for");
    if !xff.is_empty() {
        return xff.into_iter().map(address).collect();
    }
    forwarded(headers, "for")
        .into_iter()
        .map(|v| v.as_deref().and_then(address))
        .collect()
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the
/// right-most address of the forwarded chain that is not itself a trusted proxy
/// (everything left of it was written by the client and may be invented). An
/// unreadable entry stops the walk at the proxy that wrote it.
pub fn client_ip(req: &HttpRequest, trusted: &TrustedProxies) -> Option<IpAddr> {
    client_ip_of(req.headers(), req.peer_addr(), trusted)
}

fn client_ip_of(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut ip = canonical(peer?.ip());
    if !trusted.trusts(ip) {
        return Some(ip);
    }
    for hop in chain(headers).into_iter().rev() {
        match hop {
            Some(addr) if trusted.trusts(addr) => ip = addr,
            Some(addr) => return Some(addr),
            None => break,
        }
    }
    Some(ip)
}

/// The address a client's budgets (rate limits, failed logins) are kept under:
/// an IPv4 address as it is, an IPv6 address as its /64 (one subscriber usually
/// holds a whole /64, and could otherwise take a fresh budget per address).
pub fn budget_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// The right-most value a trusted proxy gave for the original `proto` or `host`.
fn forwarded_value(headers: &HeaderMap, x_header: &str, param: &str) -> Option<String> {
    if let Some(v) = values(headers, x_header).last() {
        return Some((*v).to_owned());
    }
    forwarded(headers, param).into_iter().flatten().next_back()
}

/// A host (with an optional port) fit for a link: letters, digits, `-._:[]`.
fn plausible_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
}

/// `scheme://host` of the request as the client sent it: what a trusted proxy
/// reports (`X-Forwarded-Proto`/`-Host`, else `Forwarded: proto=`/`host=`),
/// otherwise the `Host` header and the scheme of the connection.
pub fn origin(req: &HttpRequest, trusted: &TrustedProxies) -> String {
    let headers = req.headers();
    let via_proxy = req
        .peer_addr()
        .is_some_and(|p| trusted.trusts(canonical(p.ip())));
    let scheme = via_proxy
        .then(|| forwarded_value(headers, "x-forwarded-proto", "proto"))
        .flatten()
        .map(|s| s.to_ascii_lowercase())
        .filter(|s| s == "http" || s == "https")
        .unwrap_or_else(|| {
            let secure = req.uri().scheme_str() == Some("https") || req.app_config().secure();
            if secure { "https" } else { "http" }.to_owned()
        });
    let host = via_proxy
        .then(|| forwarded_value(headers, "x-forwarded-host", "host"))
        .flatten()
        .filter(|h| plausible_host(h))
        .or_else(|| {
            headers
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
                .filter(|h| plausible_host(h))
        })
        .unwrap_or_else(|| req.app_config().host().to_owned());
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=2.2.2.2")]);
        let peer = Some("9.9.9.9:1234".parse().unwrap());
        assert_eq!(client_ip_of(&h, peer, &trusted(&[])), ip("9.9.9.9"));
        assert_eq!(
            client_ip_of(&h, peer, &trusted(&["10.0.0.0/8"])),
            ip("9.9.9.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() {
        let t = trusted(&["10.0.0.0/8", "::1"]);
        let peer = Some("10.0.0.2:80".parse().unwrap());
        // The client invented 6.6.6.6; the proxy appended the real 5.5.5.5.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 5.5.5.5, 10.0.0.9")]);
        assert_eq!(client_ip_of(&h, peer, &t), ip("5.5.5.5"));
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
        )]);
        assert_eq!(client_ip_of(&h, peer, &t), ip("2001:db8::7"));
        // Only trusted hops: the left-most one.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.9")]);
        assert_eq!(client_ip_of(&h, peer, &t), ip("10.1.1.1"));
        // Unreadable: the proxy that wrote it.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, unknown")]);
        assert_eq!(client_ip_of(&h, peer, &t), ip("10.0.0.2"));
        // No header at all: the proxy itself.
        assert_eq!(client_ip_of(&headers(&[]), peer, &t), ip("10.0.0.2"));
        let mapped = Some("[::ffff:10.0.0.2]:80".parse().unwrap());
        let h = headers(&[("x-forwarded-for", "5.5.5.5:99")]);
        assert_eq!(client_ip_of(&h, mapped, &t), ip("5.5.5.5"));
    }

    #[test]
    fn an_ipv6_client_is_budgeted_by_its_64() {
        assert_eq!(
            budget_address("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            budget_address("192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn malformed_proxy_entries_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
        assert!(TrustedProxies::parse(&[" ".into(), "::1".into()]).is_ok());
    }

    #[test]
    fn only_plausible_hosts_make_links() {
        assert!(plausible_host("media.example.org:8443"));
        assert!(plausible_host("[::1]:8080"));
        assert!(!plausible_host("evil.example/\"><script>"));
        assert!(!plausible_host(""));
    }
}
