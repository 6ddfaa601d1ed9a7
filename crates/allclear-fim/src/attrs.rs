//! Which attributes of a file a rule watches.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One attribute a rule can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Attr {
    /// File type (regular file, directory, symlink, …).
    Type,
    /// Permission bits, including setuid, setgid and sticky.
    Perms,
    /// Owning user id.
    Owner,
    /// Owning group id.
    Group,
    /// Size in bytes.
    Size,
    /// Allocated 512-byte blocks.
    Blocks,
    /// Modification time.
    Mtime,
    /// Inode change time.
    Ctime,
    /// Inode number.
    Inode,
    /// Number of hard links.
    Links,
    /// Target of a symbolic link.
    Target,
    /// Extended attributes (every namespace the process can read).
    Xattrs,
    /// POSIX ACLs (the `system.posix_acl_*` extended attributes).
    Acl,
    /// BLAKE3 hash of the content (regular files only).
    Blake3,
    /// SHA-256 hash of the content (regular files only).
    Sha256,
    /// SHA-512 hash of the content (regular files only).
    Sha512,
    /// Not an attribute but a mode: size, mtime and ctime may grow, and a content hash
    /// only has to match over the old length (log files).
    Growing,
}

impl Attr {
    /// Every attribute, in the order reports list them.
    pub const ALL: [Attr; 17] = [
        Attr::Type,
        Attr::Perms,
        Attr::Owner,
        Attr::Group,
        Attr::Size,
        Attr::Blocks,
        Attr::Mtime,
        Attr::Ctime,
        Attr::Inode,
        Attr::Links,
        Attr::Target,
        Attr::Xattrs,
        Attr::Acl,
        Attr::Blake3,
        Attr::Sha256,
        Attr::Sha512,
        Attr::Growing,
    ];

    /// The name used in `allclear.toml`, in reports and in finding details.
    pub fn name(self) -> &'static str {
        match self {
            Attr::Type => "type",
            Attr::Perms => "perms",
            Attr::Owner => "owner",
            Attr::Group => "group",
            Attr::Size => "size",
            Attr::Blocks => "blocks",
            Attr::Mtime => "mtime",
            Attr::Ctime => "ctime",
            Attr::Inode => "inode",
            Attr::Links => "links",
            Attr::Target => "target",
            Attr::Xattrs => "xattrs",
            Attr::Acl => "acl",
            Attr::Blake3 => "blake3",
            Attr::Sha256 => "sha256",
            Attr::Sha512 => "sha512",
            Attr::Growing => "growing",
        }
    }

    /// Parses a name or one of its aliases (`permissions`, `uid`, `nlink`, `link-target`, …).
    pub fn from_name(name: &str) -> Option<Attr> {
        let attr = match name.trim().to_ascii_lowercase().as_str() {
            "type" | "ftype" | "file-type" => Attr::Type,
            "perms" | "permissions" | "mode" => Attr::Perms,
            "owner" | "uid" | "user" => Attr::Owner,
            "group" | "gid" => Attr::Group,
            "size" => Attr::Size,
            "blocks" | "bcount" => Attr::Blocks,
            "mtime" => Attr::Mtime,
            "ctime" => Attr::Ctime,
            "inode" => Attr::Inode,
            "links" | "nlink" | "link-count" => Attr::Links,
            "target" | "link-target" | "link-name" => Attr::Target,
            "xattrs" | "xattr" => Attr::Xattrs,
            "acl" | "acls" => Attr::Acl,
            "blake3" => Attr::Blake3,
            "sha256" => Attr::Sha256,
            "sha512" => Attr::Sha512,
            "growing" => Attr::Growing,
            _ => return None,
        };
        Some(attr)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A content hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgo {
    /// BLAKE3 (the default: several times faster than SHA-2 on one core).
    Blake3,
    /// SHA-256 (FIPS 180-4), for auditors who require it.
    Sha256,
    /// SHA-512 (FIPS 180-4).
    Sha512,
}

impl HashAlgo {
    pub const ALL: [HashAlgo; 3] = [HashAlgo::Blake3, HashAlgo::Sha256, HashAlgo::Sha512];

    pub fn attr(self) -> Attr {
        match self {
            HashAlgo::Blake3 => Attr::Blake3,
            HashAlgo::Sha256 => Attr::Sha256,
            HashAlgo::Sha512 => Attr::Sha512,
        }
    }

    pub fn name(self) -> &'static str {
        self.attr().name()
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgo::Blake3 | HashAlgo::Sha256 => 32,
            HashAlgo::Sha512 => 64,
        }
    }

    pub fn from_name(name: &str) -> Option<HashAlgo> {
        match Attr::from_name(name)? {
            Attr::Blake3 => Some(HashAlgo::Blake3),
            Attr::Sha256 => Some(HashAlgo::Sha256),
            Attr::Sha512 => Some(HashAlgo::Sha512),
            _ => None,
        }
    }
}

/// A set of [`Attr`]s, stored as a bit set so each baseline entry carries it in 4 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttrSet(u32);

impl AttrSet {
    pub const EMPTY: AttrSet = AttrSet(0);

    /// Every bit that names an attribute; anything else in a baseline is ignored.
    const VALID: u32 = (1 << Attr::ALL.len()) - 1;

    pub fn from_attrs(attrs: &[Attr]) -> AttrSet {
        attrs.iter().fold(AttrSet::EMPTY, |set, &a| set.with(a))
    }

    /// Reads a stored bit set, dropping bits no attribute has.
    pub fn from_bits(bits: u32) -> AttrSet {
        AttrSet(bits & Self::VALID)
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn with(self, attr: Attr) -> AttrSet {
        AttrSet(self.0 | attr.bit())
    }

    pub fn without(self, attr: Attr) -> AttrSet {
        AttrSet(self.0 & !attr.bit())
    }

    pub fn contains(self, attr: Attr) -> bool {
        self.0 & attr.bit() != 0
    }

    pub fn union(self, other: AttrSet) -> AttrSet {
        AttrSet(self.0 | other.0)
    }

    pub fn intersection(self, other: AttrSet) -> AttrSet {
        AttrSet(self.0 & other.0)
    }

    pub fn difference(self, other: AttrSet) -> AttrSet {
        AttrSet(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Attr> {
        Attr::ALL.into_iter().filter(move |a| self.contains(*a))
    }

    /// The hash algorithms in the set.
    pub fn hashes(self) -> impl Iterator<Item = HashAlgo> {
        HashAlgo::ALL
            .into_iter()
            .filter(move |h| self.contains(h.attr()))
    }

    pub fn has_hash(self) -> bool {
        self.hashes().next().is_some()
    }

    /// Type, permissions, owner, group, inode, links, link target, extended attributes and
    /// ACLs: what must never change on a file that only grows or is rewritten in place.
    pub fn identity() -> AttrSet {
        AttrSet::from_attrs(&[
            Attr::Type,
            Attr::Perms,
            Attr::Owner,
            Attr::Group,
            Attr::Inode,
            Attr::Links,
            Attr::Target,
            Attr::Xattrs,
            Attr::Acl,
        ])
    }
}

impl fmt::Debug for AttrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttrSet({self})")
    }
}

/// `type+perms+owner`, the AIDE-like spelling.
impl fmt::Display for AttrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for attr in self.iter() {
            if !first {
                f.write_str("+")?;
            }
            first = false;
            f.write_str(attr.name())?;
        }
        if first {
            f.write_str("(none)")?;
        }
        Ok(())
    }
}

/// A named set of attributes usable in `allclear.toml` (`attributes = "static"`).
///
/// `hash` is the rule's chosen algorithm (BLAKE3 unless the rule says otherwise).
pub fn preset(name: &str, hash: HashAlgo) -> Option<AttrSet> {
    let base = AttrSet::from_attrs(&[Attr::Type, Attr::Perms, Attr::Owner, Attr::Group]);
    let set = match name.trim().to_ascii_lowercase().as_str() {
        // Files that should never change: everything but atime and block count.
        "static" => AttrSet::identity()
            .union(AttrSet::from_attrs(&[Attr::Size, Attr::Mtime, Attr::Ctime]))
            .with(hash.attr()),
        // Content and ownership, but not the inode or times: for files that deploy tools
        // rewrite with identical content (web roots, generated configuration).
        "content" => base
            .union(AttrSet::from_attrs(&[Attr::Size, Attr::Target]))
            .with(hash.attr()),
        // Who may read and write, not what is inside.
        "permissions" => base.union(AttrSet::from_attrs(&[Attr::Target, Attr::Acl])),
        // Log files: ownership and permissions, and the size may only grow.
        "growing" | "log" | "logs" => base.union(AttrSet::from_attrs(&[
            Attr::Size,
            Attr::Target,
            Attr::Growing,
        ])),
        "hash" => AttrSet::EMPTY.with(hash.attr()),
        _ => return None,
    };
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let s = AttrSet::from_attrs(&[Attr::Perms, Attr::Sha256]);
        assert!(s.contains(Attr::Perms));
        assert!(!s.contains(Attr::Owner));
        assert_eq!(s.to_string(), "perms+sha256");
        assert_eq!(s.hashes().collect::<Vec<_>>(), vec![HashAlgo::Sha256]);
        assert_eq!(s.without(Attr::Perms).to_string(), "sha256");
        assert_eq!(AttrSet::EMPTY.to_string(), "(none)");
        assert_eq!(AttrSet::from_bits(u32::MAX).iter().count(), Attr::ALL.len());
    }

    #[test]
    fn names_round_trip() {
        for attr in Attr::ALL {
            assert_eq!(Attr::from_name(attr.name()), Some(attr));
        }
        assert_eq!(Attr::from_name("uid"), Some(Attr::Owner));
        assert_eq!(Attr::from_name("atime"), None);
    }

    #[test]
    fn presets_use_the_chosen_hash() {
        let s = preset("static", HashAlgo::Sha512).unwrap();
        assert!(s.contains(Attr::Sha512) && !s.contains(Attr::Blake3));
        assert!(
            preset("growing", HashAlgo::Blake3)
                .unwrap()
                .contains(Attr::Growing)
        );
        assert!(preset("nope", HashAlgo::Blake3).is_none());
    }
}
