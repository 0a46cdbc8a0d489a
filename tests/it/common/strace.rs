//! Lines of an `strace -f -y -o LOG` log, parsed enough to check which
//! files a run opened, changed or removed (the hostile overlay test and the
//! rpm database test share it).

use std::path::Path;

/// One line of `strace -f -y -e trace=%file`.
#[derive(Debug)]
pub struct Syscall {
    pub name: String,
    /// The arguments, split at top-level commas.
    pub args: Vec<String>,
    /// For a call that returned a descriptor, the path `-y` names for it.
    pub ret_fd_path: Option<String>,
}

impl Syscall {
    pub fn parse(line: &str) -> Option<Syscall> {
        // "PID name(args) = ret" (strace -f -o writes the pid first).
        let rest = line.split_once(' ').map_or(line, |(_, r)| r).trim_start();
        let open = rest.find('(')?;
        let name = rest[..open].to_string();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let (args, ret) = split_args(&rest[open + 1..])?;
        let ret = ret.trim_start().strip_prefix('=')?.trim();
        let ret_fd_path = ret
            .split_once('<')
            .and_then(|(_, p)| p.strip_suffix('>'))
            .map(str::to_string);
        Some(Syscall {
            name,
            args,
            ret_fd_path,
        })
    }

    /// The paths this call would create, change or remove, made absolute
    /// with the directory descriptor's path `-y` printed (or `cwd`).
    pub fn written_paths(&self, cwd: &Path) -> Vec<String> {
        let flags_write = |i: usize| {
            self.args.get(i).is_some_and(|f| {
                ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_TMPFILE"]
                    .iter()
                    .any(|w| f.contains(w))
            })
        };
        // (dirfd argument or None, path argument) pairs that are written.
        let at: Vec<(Option<usize>, usize)> = match self.name.as_str() {
            "open" | "creat" if self.name == "creat" || flags_write(1) => vec![(None, 0)],
            "openat" | "openat2" if flags_write(2) => vec![(Some(0), 1)],
            "mkdir" | "rmdir" | "unlink" | "chmod" | "chown" | "lchown" | "truncate" | "mknod"
            | "utime" | "utimes" | "setxattr" | "lsetxattr" | "removexattr" | "lremovexattr" => {
                vec![(None, 0)]
            }
            "mkdirat" | "unlinkat" | "fchmodat" | "fchownat" | "mknodat" | "utimensat"
            | "futimesat" => vec![(Some(0), 1)],
            "symlink" => vec![(None, 1)],
            "symlinkat" => vec![(Some(1), 2)],
            "link" | "rename" => vec![(None, 0), (None, 1)],
            "linkat" | "renameat" | "renameat2" => vec![(Some(0), 1), (Some(2), 3)],
            _ => vec![],
        };
        at.into_iter()
            .filter_map(|(dirfd, path)| {
                let p = unquote(self.args.get(path)?)?;
                if p.starts_with('/') {
                    return Some(p);
                }
                let base = match dirfd {
                    Some(i) => {
                        let d = self.args.get(i)?;
                        d.split_once('<')
                            .and_then(|(_, p)| p.strip_suffix('>'))
                            .map(str::to_string)
                            .unwrap_or_else(|| cwd.display().to_string())
                    }
                    None => cwd.display().to_string(),
                };
                Some(if p.is_empty() {
                    base
                } else {
                    format!("{base}/{p}")
                })
            })
            .collect()
    }
}

/// Splits "a, "b, c", {x, y}) = 3" into its arguments and what follows the
/// closing parenthesis.
fn split_args(s: &str) -> Option<(Vec<String>, &str)> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if quoted {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                cur.push(c);
            }
            '(' | '{' | '[' | '<' => {
                depth += 1;
                cur.push(c);
            }
            ')' if depth == 0 => {
                args.push(cur.trim().to_string());
                return Some((args, &s[i + 1..]));
            }
            ')' | '}' | ']' | '>' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => {
                args.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    None
}

/// A quoted strace string argument, unescaped enough for path checks.
pub fn unquote(arg: &str) -> Option<String> {
    let s = arg.strip_prefix('"')?;
    let end = s.rfind('"')?;
    Some(s[..end].replace("\\\"", "\"").replace("\\\\", "\\"))
}
