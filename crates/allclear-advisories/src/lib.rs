//! Advisory importers (OSV, RubySec, FriendsOfPHP, RustSec), the indexed local advisory store, and matching.
