//! The default trust policy on a library file's permissions: writable by
//! its owner only, owned by this process's user or root, in a directory
//! others cannot write to unless it is sticky (like `/tmp`).

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// Who owns a file or directory and its mode bits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner {
    pub(crate) uid: u32,
    pub(crate) mode: u32,
}

/// Applies the policy to `real`, the file itself (a symlink's target),
/// opened with `opened`; the error is the rule broken, naming the file.
/// Write permissions do not count on a file the kernel keeps from
/// changing (`immutable`): nobody can write it, whatever its mode says.
pub(crate) fn permissions(
    real: &Path,
    opened: &std::fs::Metadata,
    immutable: bool,
) -> Result<(), String> {
    let dir = match real.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let dir_owner = std::fs::metadata(dir).ok().map(|metadata| Owner {
        uid: metadata.uid(),
        mode: metadata.mode(),
    });
    // SAFETY: `geteuid` has no preconditions.
    let user = unsafe { libc::geteuid() };
    judge(
        real,
        Owner {
            uid: opened.uid(),
            mode: if immutable {
                opened.mode() & !0o022
            } else {
                opened.mode()
            },
        },
        user,
        dir,
        dir_owner,
    )
}

/// The policy itself, on plain numbers.
pub(crate) fn judge(
    real: &Path,
    file: Owner,
    user: u32,
    dir: &Path,
    dir_owner: Option<Owner>,
) -> Result<(), String> {
    let refuse = |reason: String| {
        Err(format!(
            "{reason} (allow it with --allow-insecure-permissions)"
        ))
    };
    let mode = file.mode & 0o7777;
    if mode & 0o022 != 0 {
        let who = if mode & 0o002 != 0 {
            "others"
        } else {
            "its group"
        };
        return refuse(format!(
            "{} is writable by {who} (mode {mode:04o})",
            real.display()
        ));
    }
    if file.uid != user && file.uid != 0 {
        return refuse(format!(
            "{} is owned by uid {}, not by this user (uid {user}) or root",
            real.display(),
            file.uid
        ));
    }
    if let Some(owner) = dir_owner {
        let mode = owner.mode & 0o7777;
        if mode & 0o002 != 0 && mode & 0o1000 == 0 {
            return refuse(format!(
                "its directory {} is writable by others without the sticky bit (mode {mode:04o})",
                dir.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(file: (u32, u32), user: u32, dir: (u32, u32)) -> Result<(), String> {
        judge(
            Path::new("/p/libx.so"),
            Owner {
                uid: file.0,
                mode: file.1,
            },
            user,
            Path::new("/p"),
            Some(Owner {
                uid: dir.0,
                mode: dir.1,
            }),
        )
    }

    #[test]
    fn owner_writable_files_of_this_user_or_root_pass() {
        assert_eq!(verdict((1000, 0o644), 1000, (1000, 0o755)), Ok(()));
        assert_eq!(verdict((0, 0o755), 1000, (0, 0o755)), Ok(()));
        assert_eq!(verdict((1000, 0o600), 1000, (0, 0o1777)), Ok(()));
    }

    #[test]
    fn each_rule_names_the_file_and_the_permission() {
        assert_eq!(
            verdict((1000, 0o666), 1000, (1000, 0o755)).unwrap_err(),
            "/p/libx.so is writable by others (mode 0666) (allow it with --allow-insecure-permissions)"
        );
        assert!(
            verdict((1000, 0o664), 1000, (1000, 0o755))
                .unwrap_err()
                .starts_with("/p/libx.so is writable by its group (mode 0664)")
        );
        assert!(
            verdict((1001, 0o644), 1000, (1000, 0o755))
                .unwrap_err()
                .starts_with(
                    "/p/libx.so is owned by uid 1001, not by this user (uid 1000) or root"
                )
        );
        assert!(
            verdict((1000, 0o644), 1000, (1000, 0o777))
                .unwrap_err()
                .starts_with(
                    "its directory /p is writable by others without the sticky bit (mode 0777)"
                )
        );
    }
}
