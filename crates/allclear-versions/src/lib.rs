//! Version ordering and ranges per package ecosystem, as each ecosystem defines them.
