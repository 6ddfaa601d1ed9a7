//! `disk`: free space on mounted filesystems (statvfs through `rustix`), read from
//! `/proc/self/mounts`.

use std::path::Path;

use crate::digest::FsUsage;

/// The mount table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// `/proc/self/mounts` (or the given table) could not be read.
    #[error("reading the mount table")]
    Mounts(#[source] std::io::Error),
}

/// Filesystems that hold data (not proc, tmpfs, overlay layers, snaps).
const DATA_FS: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "vfat", "exfat",
    "ntfs3", "bcachefs",
];

/// Decodes the octal escapes of the mount table (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points and types of data filesystems in a mount table's text (first mount of each
/// point wins; later ones over the same point are hidden).
pub fn data_mounts(table: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in table.lines() {
        let mut fields = line.split_whitespace();
        let (Some(_dev), Some(mount), Some(fstype)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !DATA_FS.contains(&fstype) {
            continue;
        }
        let mount = unescape(mount);
        if !out.iter().any(|(m, _)| *m == mount) {
            out.push((mount, fstype.to_owned()));
        }
    }
    out
}

/// The space of each data filesystem in `table` (usually `/proc/self/mounts`); `low` when
/// space or inodes are at or above `threshold_percent` used. Filesystems that cannot be
/// queried (permissions, stale mounts) are left out.
pub fn check_filesystems(table: &Path, threshold_percent: f64) -> Result<Vec<FsUsage>, DiskError> {
    let text = fs_err::read_to_string(table).map_err(DiskError::Mounts)?;
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (mount, fstype) in data_mounts(&text) {
        let Ok(st) = rustix::fs::statvfs(mount.as_str()) else {
            continue;
        };
        // Bind mounts show one filesystem at several places: report it once.
        if seen.contains(&st.f_fsid) {
            continue;
        }
        seen.push(st.f_fsid);
        let frsize = if st.f_frsize > 0 {
            st.f_frsize
        } else {
            st.f_bsize
        };
        let used_blocks = st.f_blocks.saturating_sub(st.f_bfree);
        // df's formula: the share of what users can have (reserved blocks excluded).
        let usable = used_blocks.saturating_add(st.f_bavail);
        if usable == 0 {
            continue;
        }
        let used_percent = used_blocks as f64 * 100.0 / usable as f64;
        let inodes_used_percent = (st.f_files > 0)
            .then(|| st.f_files.saturating_sub(st.f_ffree) as f64 * 100.0 / st.f_files as f64);
        out.push(FsUsage {
            mount,
            fstype,
            size_bytes: st.f_blocks.saturating_mul(frsize),
            avail_bytes: st.f_bavail.saturating_mul(frsize),
            used_percent,
            inodes_used_percent,
            low: used_percent >= threshold_percent
                || inodes_used_percent.is_some_and(|p| p >= threshold_percent),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_mount_table() {
        let table = "proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /srv/my\\040data xfs rw 0 0\ntmpfs /run tmpfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\nbad\n";
        assert_eq!(
            data_mounts(table),
            vec![
                ("/".to_owned(), "ext4".to_owned()),
                ("/srv/my data".to_owned(), "xfs".to_owned())
            ]
        );
    }

    #[test]
    fn statvfs_of_a_real_root() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("mounts");
        std::fs::write(&table, "/dev/root / ext4 rw 0 0\n").unwrap();
        let fs = check_filesystems(&table, 0.0).unwrap();
        // Whatever the machine's root is, statvfs answers for "/" and 0% makes it "low".
        assert_eq!(fs.len(), 1);
        assert!(fs[0].size_bytes > 0 && fs[0].low);
        let none = check_filesystems(&table, 101.0).unwrap();
        assert!(!none[0].low);
        assert!(check_filesystems(&dir.path().join("missing"), 90.0).is_err());
    }
}
