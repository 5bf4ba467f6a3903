//! The client address of API.md §1: who a request is from, for the lockout
//! and the session list, when proxies may stand in between.

use std::net::{IpAddr, SocketAddr};

use ipnet::{IpNet, Ipv6Net};

/// The client behind `peer`: the TCP peer itself, unless it is inside
/// `trusted`; then the right-most `X-Forwarded-For` hop that is not itself
/// trusted (each trusted proxy appends the address it was reached from, so
/// hops to the left of the first untrusted one are the client's to make
/// up). When every hop is trusted, the left-most one. `forwarded_for` holds
/// the header's values in order; a hop that is no address makes the whole
/// header untrustworthy, so the peer is the answer.
///
/// ```
/// use auth_service::domain::client_address;
///
/// let proxy = "10.0.0.5".parse().unwrap();
/// let trusted = ["10.0.0.0/8".parse().unwrap()];
/// let client = client_address(Some(proxy), &["198.51.100.1, 203.0.113.7"], &trusted);
/// assert_eq!(client, Some("203.0.113.7".parse().unwrap()));
/// // Without trusted proxies the header is ignored.
/// assert_eq!(client_address(Some(proxy), &["203.0.113.7"], &[]), Some(proxy));
/// ```
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: &[&str],
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer.map(|ip| ip.to_canonical());
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    match peer {
        Some(ip) if is_trusted(&ip) => {}
        _ => return peer,
    }
    let Some(hops) = forwarded_hops(forwarded_for) else {
        return peer;
    };
    hops.iter()
        .rev()
        .find(|hop| !is_trusted(hop))
        .or(hops.first())
        .copied()
        .or(peer)
}

/// Every hop of the header, or `None` if one of them is not an address.
fn forwarded_hops(values: &[&str]) -> Option<Vec<IpAddr>> {
    values
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .map(parse_hop)
        .collect()
}

/// An address as proxies write it: bare, or with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:5678`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

/// What the lockout counts an address as: an IPv4 address is itself, an
/// IPv6 address its /64, since one subscriber is usually given a whole /64
/// and could otherwise try from 2^64 addresses.
///
/// ```
/// use auth_service::domain::lockout_key;
///
/// assert_eq!(lockout_key("203.0.113.7".parse().unwrap()), "203.0.113.7");
/// assert_eq!(lockout_key("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::/64");
/// ```
pub fn lockout_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => Ipv6Net::new(v6, 64)
            .map(|net| net.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().expect("a CIDR")).collect()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let client = client_address(Some(ip("10.0.0.5")), &["203.0.113.7"], &[]);
        assert_eq!(client, Some(ip("10.0.0.5")));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = nets(&["10.0.0.0/8"]);
        let client = client_address(Some(ip("192.0.2.1")), &["203.0.113.7"], &trusted);
        assert_eq!(client, Some(ip("192.0.2.1")));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.0.0/16"]);
        let client = client_address(
            Some(ip("10.0.0.5")),
            &["198.51.100.1, 203.0.113.7", "192.168.1.1"],
            &trusted,
        );
        assert_eq!(client, Some(ip("203.0.113.7")));
    }

    #[test]
    fn when_every_hop_is_trusted_the_left_most_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let client = client_address(Some(ip("10.0.0.5")), &["10.1.1.1, 10.2.2.2"], &trusted);
        assert_eq!(client, Some(ip("10.1.1.1")));
    }

    #[test]
    fn a_malformed_or_missing_header_means_the_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        for header in [
            &["203.0.113.7, unknown"][..],
            &["<script>"],
            &["203.0.113.7/24"],
            &[],
            &[" , "],
        ] {
            let client = client_address(Some(ip("10.0.0.5")), header, &trusted);
            assert_eq!(client, Some(ip("10.0.0.5")), "{header:?}");
        }
    }

    #[test]
    fn hops_with_ports_and_mapped_addresses_are_read() {
        let trusted = nets(&["10.0.0.0/8"]);
        let v4 = client_address(Some(ip("::ffff:10.0.0.5")), &["203.0.113.7:4711"], &trusted);
        assert_eq!(v4, Some(ip("203.0.113.7")));
        let v6 = client_address(Some(ip("10.0.0.5")), &["[2001:db8::1]:4711"], &trusted);
        assert_eq!(v6, Some(ip("2001:db8::1")));
    }

    #[test]
    fn ipv6_addresses_share_a_lockout_key_per_64() {
        assert_eq!(
            lockout_key(ip("2001:db8:1:2::1")),
            lockout_key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            lockout_key(ip("2001:db8:1:2::1")),
            lockout_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(lockout_key(ip("::ffff:203.0.113.7")), "203.0.113.7");
    }
}
