//! Where the Proxmox VE cluster is and how we act on it, checked before any call is made.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

/// One Proxmox VE cluster (or single node) and the defaults a create uses there.
#[derive(Clone)]
pub struct ProxmoxSettings {
    /// The API's base, `https://pve.example:8006`; plain `http://` only for a loopback test server.
    pub endpoint: String,
    /// The API token's id, `user@realm!name`.
    pub token_id: String,
    /// The token's secret (a UUID). Never shown by `Debug` or logged.
    pub token_secret: String,
    /// The node holding the templates named without `@node`, where their clones are created.
    pub node: String,
    /// The storage a full clone's disks are written to.
    pub storage: String,
    /// The bridge the VM's first network card is attached to.
    pub bridge: String,
    /// The time-out of one HTTP call.
    pub timeout: Duration,
    /// How long to wait before polling a running task again.
    pub task_poll: Duration,
}

impl Default for ProxmoxSettings {
    /// The usual single-node names; the endpoint and the token must still be given.
    fn default() -> Self {
        ProxmoxSettings {
            endpoint: String::new(),
            token_id: String::new(),
            token_secret: String::new(),
            node: "pve".into(),
            storage: "local-lvm".into(),
            bridge: "vmbr0".into(),
            timeout: Duration::from_secs(30),
            // Research §1.4: a full clone takes minutes; every 2 s is frequent enough.
            task_poll: Duration::from_secs(2),
        }
    }
}

impl fmt::Debug for ProxmoxSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxmoxSettings")
            .field("endpoint", &self.endpoint)
            .field("token_id", &self.token_id)
            .field("token_secret", &"<redacted>")
            .field("node", &self.node)
            .field("storage", &self.storage)
            .field("bridge", &self.bridge)
            .field("timeout", &self.timeout)
            .field("task_poll", &self.task_poll)
            .finish()
    }
}

impl ProxmoxSettings {
    /// Every problem a staff member can fix in the settings, in words they can act on.
    pub fn validate(&self) -> Result<(), String> {
        self.endpoint_url()?;
        let token_ok = self.token_id.split_once('!').is_some_and(|(user, name)| {
            user.split_once('@').is_some_and(|(u, realm)| !u.is_empty() && !realm.is_empty()) && is_name(name)
        });
        // '=', ';' or a space would end the value inside the Authorization header early.
        if !token_ok || self.token_id.contains(['=', ';', ' ']) {
            return Err(format!("proxmox token_id {:?} must look like user@realm!name", self.token_id));
        }
        if self.token_secret.is_empty() || self.token_secret.contains([';', ' ', '\n']) {
            return Err("proxmox token_secret is empty or contains spaces or ';'".into());
        }
        for (what, value) in [("node", &self.node), ("storage", &self.storage), ("bridge", &self.bridge)] {
            if !is_name(value) {
                return Err(format!("proxmox {what} {value:?} must be a name of letters, digits, '-', '_' or '.'"));
            }
        }
        if self.timeout.is_zero() || self.task_poll.is_zero() {
            return Err("proxmox timeout and task_poll must be longer than zero".into());
        }
        Ok(())
    }

    /// The endpoint, parsed and checked: https (http for loopback only), no path, no query.
    pub(super) fn endpoint_url(&self) -> Result<Url, String> {
        let url = Url::parse(&self.endpoint).map_err(|e| format!("proxmox endpoint {:?}: {e}", self.endpoint))?;
        // `host_str` writes an IPv6 address in brackets.
        let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            // The token travels in every request: clear text only where it never leaves the machine.
            "http" if loopback => {}
            _ => {
                return Err(format!(
                    "proxmox endpoint {:?} must start with https:// (http:// only for a loopback test server)",
                    self.endpoint
                ));
            }
        }
        if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
            return Err(format!(
                "proxmox endpoint {:?} must be the server's base only, such as https://pve.example:8006",
                self.endpoint
            ));
        }
        Ok(url)
    }
}

/// Letters, digits, `-`, `_`, `.`, starting with a letter or digit: node, storage, bridge and
/// token names all fit, and none needs escaping anywhere.
fn is_name(value: &str) -> bool {
    value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ProxmoxSettings {
        ProxmoxSettings {
            endpoint: "https://pve.example:8006".into(),
            token_id: "lantian@pve!provision".into(),
            token_secret: "0f1e2d3c-aaaa-bbbb-cccc-123456789abc".into(),
            ..ProxmoxSettings::default()
        }
    }

    fn error(change: impl FnOnce(&mut ProxmoxSettings)) -> String {
        let mut s = valid();
        change(&mut s);
        s.validate().unwrap_err()
    }

    #[test]
    fn accepts_https_and_loopback_http_only() {
        valid().validate().unwrap();
        let http = |endpoint: &str| ProxmoxSettings { endpoint: endpoint.into(), ..valid() }.validate();
        http("http://127.0.0.1:8006").unwrap();
        http("http://localhost:8006/").unwrap();
        http("http://[::1]:8006").unwrap();
        assert!(http("http://pve.example:8006").unwrap_err().contains("https://"));
        assert!(http("https://pve.example:8006/api2/json").unwrap_err().contains("base only"));
        assert!(http("pve.example").is_err());
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        assert!(error(|s| s.token_id = "lantian@pve".into()).contains("user@realm!name"));
        assert!(error(|s| s.token_id = "lantian!x".into()).contains("user@realm!name"));
        assert!(error(|s| s.token_secret = String::new()).contains("token_secret"));
        assert!(error(|s| s.node = "pve/1".into()).contains("node"));
        assert!(error(|s| s.bridge = String::new()).contains("bridge"));
        assert!(error(|s| s.task_poll = Duration::ZERO).contains("task_poll"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", valid());
        assert!(shown.contains("lantian@pve!provision") && !shown.contains("0f1e2d3c"), "{shown}");
    }
}
