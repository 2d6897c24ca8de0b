//! Compliance on the server: the product version licenses must cover.

/// The product's major version: what license files' `product_major_versions` must include.
pub fn product_major() -> u64 {
    env!("CARGO_PKG_VERSION").split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
}
