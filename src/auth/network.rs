//! IP access lists: CIDR networks, and the client address of a request behind trusted proxies.
//! Parsed with `std::net` only.

use std::net::{IpAddr, SocketAddr};

/// An IP network in CIDR form, e.g. `203.0.113.0/24` or `2001:db8::/32`. A bare address is a
/// network of that one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    /// The network address, with the host bits cleared.
    addr: IpAddr,
    /// The prefix length in bits.
    prefix: u8,
}

impl IpNet {
    /// Parses `ADDR/PREFIX` or `ADDR`. Host bits set below the prefix are cleared.
    pub fn parse(text: &str) -> Option<IpNet> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
                (addr.parse::<IpAddr>().ok()?, prefix.parse::<u8>().ok()?)
            }
            Some(_) => return None,
            None => {
                let addr = text.parse::<IpAddr>().ok()?;
                (addr, if addr.is_ipv4() { 32 } else { 128 })
            }
        };
        let addr = match addr {
            IpAddr::V4(v4) if prefix <= 32 => IpAddr::V4((u32::from(v4) & mask32(prefix)).into()),
            IpAddr::V6(v6) if prefix <= 128 => IpAddr::V6((u128::from(v6) & mask128(prefix)).into()),
            _ => return None,
        };
        Some(IpNet { addr, prefix })
    }

    /// Whether `ip` lies in the network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) counts
    /// as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => u32::from(ip) & mask32(self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => u128::from(ip) & mask128(self.prefix) == u128::from(net),
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// Whether any network of `list` holds `ip`.
pub fn any_contains(list: &[IpNet], ip: IpAddr) -> bool {
    list.iter().any(|net| net.contains(ip))
}

/// An address as a host reports a peer or a proxy writes `X-Forwarded-For`: `a.b.c.d`,
/// `a.b.c.d:port`, `2001:db8::1` or `[2001:db8::1]:port`.
fn parse_addr(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>().ok().or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip())).map(|ip| ip.to_canonical())
}

/// The address of the client that made a request.
///
/// It is the peer address, unless the peer is one of `trusted_proxies`: then `X-Forwarded-For`
/// (all its headers, in order) is read from the right, skipping trusted proxies, and the first
/// address that is not one is the client (the left-most when every address is trusted). A
/// client can prepend anything to the header, so nothing left of that address is believed.
/// `None` when the address cannot be known (no peer, or an unreadable entry where the client
/// should be).
pub fn client_ip<'a>(
    peer: Option<&str>,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted_proxies: &[IpNet],
) -> Option<IpAddr> {
    let peer = parse_addr(peer?)?;
    if !any_contains(trusted_proxies, peer) {
        return Some(peer);
    }
    let mut client = peer;
    for entry in forwarded_for.rev().flat_map(|header| header.rsplit(',')) {
        let ip = parse_addr(entry)?;
        client = ip;
        if !any_contains(trusted_proxies, ip) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        IpNet::parse(s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_matches_networks() {
        assert!(net("203.0.113.0/24").contains(ip("203.0.113.77")));
        assert!(!net("203.0.113.0/24").contains(ip("203.0.114.1")));
        assert!(net("203.0.113.9/24").contains(ip("203.0.113.1")), "host bits are cleared");
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!net("0.0.0.0/0").contains(ip("::1")));
        assert!(net("127.0.0.2").contains(ip("127.0.0.2")) && !net("127.0.0.2").contains(ip("127.0.0.1")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!net("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(net("::/0").contains(ip("::1")));
        assert!(net("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")), "IPv4-mapped counts as IPv4");
        for bad in ["", "1.2.3.4/33", "::/129", "1.2.3.4/", "1.2.3.4/+1", "1.2.3/24", "x/8", "1.2.3.4/8/8", "[::1]"] {
            assert_eq!(IpNet::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn finds_the_client_behind_trusted_proxies() {
        let trusted = [net("10.0.0.0/8")];
        let none: [&str; 0] = [];
        assert_eq!(client_ip(Some("127.0.0.1:5000"), none.into_iter(), &trusted), Some(ip("127.0.0.1")));
        assert_eq!(client_ip(Some("[::1]:5000"), none.into_iter(), &trusted), Some(ip("::1")));
        assert_eq!(client_ip(None, none.into_iter(), &trusted), None);
        // An untrusted peer's header is ignored.
        assert_eq!(client_ip(Some("192.0.2.1:1"), ["198.51.100.1"].into_iter(), &trusted), Some(ip("192.0.2.1")));
        // Through two trusted proxies: the right-most untrusted address; spoofed entries left of
        // it are not believed.
        let xff = ["6.6.6.6, 203.0.113.5", "10.1.1.1"];
        assert_eq!(client_ip(Some("10.0.0.1:1"), xff.into_iter(), &trusted), Some(ip("203.0.113.5")));
        // A trusted peer without the header, or with only trusted entries.
        assert_eq!(client_ip(Some("10.0.0.1:1"), none.into_iter(), &trusted), Some(ip("10.0.0.1")));
        assert_eq!(client_ip(Some("10.0.0.1:1"), ["10.2.2.2"].into_iter(), &trusted), Some(ip("10.2.2.2")));
        // An unreadable entry where the client should be: unknown.
        assert_eq!(client_ip(Some("10.0.0.1:1"), ["1.1.1.1, junk"].into_iter(), &trusted), None);
    }
}
