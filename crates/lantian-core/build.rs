//! Rebuild when a translation file changes: `fluent_templates::static_loader!` embeds the
//! `.ftl` files of `locales/` at compile time, and cargo does not see a new or edited one on
//! its own.

fn main() {
    println!("cargo:rerun-if-changed=locales");
}
