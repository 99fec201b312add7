//! The SSRF guard: webhook requests go only to public addresses. Checked on
//! the addresses a name resolves to, in the resolver reqwest connects with
//! ([`GuardedResolver`]), so a name that resolves to a public address for a
//! check and to a private one for the connection (DNS rebinding) cannot slip
//! through: reqwest connects to exactly the addresses returned here. A URL
//! whose host is an IP literal skips resolvers; [`check_host`] checks it
//! before the request is sent. Ranges listed in `--webhook-allow-cidr` are let
//! through (the tests allow 127.0.0.1/32).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Why a destination was refused (found in a failed request's error chain).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "destination not allowed: {}", self.0)
    }
}

impl std::error::Error for Refused {}

/// The ranges let through despite the rules.
#[derive(Clone, Debug, Default)]
pub struct Allowed(Arc<Vec<IpNet>>);

impl Allowed {
    /// Parses `--webhook-allow-cidr` values (`127.0.0.1/32`, or a bare address).
    pub fn parse(list: &[String]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for s in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let net = s
                .parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
            nets.push(net);
        }
        Ok(Self(Arc::new(nets)))
    }

    /// May a request go to `ip`?
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip)) || is_public(ip)
    }
}

/// Is `ip` a public unicast address (none of the ranges the guard refuses)?
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_v4(v4);
            }
            let seg = v6.segments();
            let seg0 = seg[0];
            if seg0 == 0x2002 {
                // 6to4: judged by the IPv4 address it carries.
                let [a, b] = seg[1].to_be_bytes();
                let [c, d] = seg[2].to_be_bytes();
                return public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || seg0 == 0 // ::/16: IPv4-compatible and other reserved forms
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg0 & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg0 & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (seg0 == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg0 == 0x0064 && seg[1] == 0xff9b)) // NAT64 of any v4
        }
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, the cloud metadata address included
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240) // reserved
}

/// Checks a URL's host when it is an IP literal (names are checked when
/// they are resolved).
pub fn check_host(url: &url::Url, allowed: &Allowed) -> Result<(), Refused> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
        _ => return Ok(()),
    };
    if allowed.permits(ip) {
        Ok(())
    } else {
        Err(Refused(ip.to_string()))
    }
}

/// A resolver that returns only the addresses the guard permits (and fails
/// when none is left).
pub struct GuardedResolver {
    pub allowed: Allowed,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allowed.permits(a.ip()))
                .collect();
            if kept.is_empty() {
                let why = if found.is_empty() {
                    format!("{host} has no address")
                } else {
                    format!("{host} resolves to {}", found[0].ip())
                };
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Is `ip` refused without an allowance? (The address table's unit test.)
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_private_and_special_addresses() {
        let none = Allowed::default();
        for a in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "2001:db8::1",
            "::127.0.0.1",
            "2002:a00:1::1",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert!(!none.permits(ip), "{a} must be refused");
        }
        for a in [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "2606:4700::1111",
            "2002:5db8:d822::1",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert!(none.permits(ip), "{a} must be allowed");
        }
        let loopback = Allowed::parse(&["127.0.0.1/32".into()]).unwrap();
        assert!(loopback.permits("127.0.0.1".parse().unwrap()));
        assert!(!loopback.permits("127.0.0.2".parse().unwrap()));
        assert!(Allowed::parse(&["nope".into()]).is_err());
    }
}
