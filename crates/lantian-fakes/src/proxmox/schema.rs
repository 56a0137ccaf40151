//! The checks of Proxmox's parameter schema that a client can get wrong, refused with 400 and
//! Proxmox's wording.

use std::collections::BTreeMap;

use super::reply::PveError;

/// Decoded parameters by name.
pub(super) type Params = BTreeMap<String, String>;

/// The config keys `PUT …/config` takes here: the ones a provisioning client sets.
const CONFIG_KEYS: [&str; 13] = [
    "cores",
    "sockets",
    "memory",
    "onboot",
    "name",
    "description",
    "tags",
    "ciuser",
    "cipassword",
    "sshkeys",
    "ipconfig0",
    "nameserver",
    "net0",
];

pub(super) fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, PveError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| PveError::param(name, "property is missing and it is not optional"))
}

/// An optional integer within `min..=max`.
pub(super) fn integer(params: &Params, name: &str, min: u64, max: u64) -> Result<Option<u64>, PveError> {
    params.get(name).map(|text| bounded(name, text, min, max)).transpose()
}

fn bounded(name: &str, text: &str, min: u64, max: u64) -> Result<u64, PveError> {
    let value: u64 =
        text.parse().map_err(|_| PveError::param(name, format!("type check ('integer') failed - got '{text}'")))?;
    if !(min..=max).contains(&value) {
        return Err(PveError::param(name, format!("value must be between {min} and {max}")));
    }
    Ok(value)
}

/// Checks one `PUT …/config` parameter (`delete` and `digest` included).
pub(super) fn config_param(name: &str, value: &str) -> Result<(), PveError> {
    let invalid = |what: &str| Err(PveError::param(name, format!("invalid format - {what}")));
    match name {
        "cores" | "sockets" => bounded(name, value, 1, 128).map(drop),
        "memory" => bounded(name, value, 16, 4_194_304).map(drop),
        "onboot" => bounded(name, value, 0, 1).map(drop),
        "name" if !dns_name(value) => invalid("value does not look like a valid DNS name"),
        "sshkeys" if !urlencoded(value) => invalid(&format!("invalid urlencoded string: {value}")),
        "tags" if !value.split([';', ',', ' ']).filter(|t| !t.is_empty()).all(tag) => invalid("invalid tag"),
        "ipconfig0" if !ipconfig(value) => invalid("invalid ipconfig"),
        "delete" => match value.split(',').find(|key| !CONFIG_KEYS.contains(key)) {
            Some(key) => invalid(&format!("unknown key '{key}'")),
            None => Ok(()),
        },
        "digest" => Ok(()),
        _ if CONFIG_KEYS.contains(&name) => Ok(()),
        _ => Err(PveError::param(
            name,
            "property is not defined in schema and the schema does not allow additional properties",
        )),
    }
}

/// Dot-separated labels of letters, digits and inner hyphens.
pub(super) fn dns_name(value: &str) -> bool {
    value.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// Proxmox's `urlencoded` format: `^[-%a-zA-Z0-9_.!~*'()]*$`.
fn urlencoded(value: &str) -> bool {
    value.chars().all(|c| c.is_ascii_alphanumeric() || "-%_.!~*'()".contains(c))
}

/// `[a-z0-9_][a-z0-9_\-+.]*`.
fn tag(value: &str) -> bool {
    let allowed = |c: char, first: bool| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (!first && "-+.".contains(c))
    };
    value.chars().enumerate().all(|(i, c)| allowed(c, i == 0)) && !value.is_empty()
}

/// `ip=CIDR|dhcp,gw=IP[,ip6=CIDR|auto|dhcp,gw6=IP]`.
fn ipconfig(value: &str) -> bool {
    value.split(',').all(|part| {
        let (key, val) = part.split_once('=').unwrap_or((part, ""));
        !val.is_empty()
            && match key {
                "ip" | "ip6" => {
                    matches!(val, "dhcp" | "auto")
                        || val.split_once('/').is_some_and(|(a, p)| !a.is_empty() && p.parse::<u8>().is_ok())
                }
                "gw" | "gw6" => true,
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_proxmox_refuses() {
        assert!(config_param("sshkeys", "ssh-ed25519%20AAAA%2B%0A").is_ok());
        assert!(config_param("sshkeys", "ssh-ed25519 AAAA").is_err(), "a space must be %20");
        assert!(config_param("sshkeys", "ssh-ed25519+AAAA").is_err(), "and never +");
        assert!(config_param("tags", "web;suspended").is_ok());
        assert!(config_param("tags", "Suspended").is_err());
        assert!(config_param("ipconfig0", "ip=203.0.113.10/24,gw=203.0.113.1").is_ok());
        assert!(config_param("ipconfig0", "ip=203.0.113.10,gw=203.0.113.1").is_err(), "a CIDR");
        assert!(config_param("memory", "2048").is_ok() && config_param("memory", "2G").is_err());
        assert!(config_param("delete", "tags").is_ok() && config_param("delete", "scsi0").is_err());
        let refused = config_param("customer", "A7K2").unwrap_err();
        assert_eq!((refused.status, refused.errors.contains_key("customer")), (400, true));
        assert!(dns_name("lc-42") && !dns_name("lc_42") && !dns_name("-a") && !dns_name(""));
    }
}
