//! Messages that users see — job events and failure reasons, pre-label errors, a model's
//! lineage, API errors about models — without the server's filesystem in them.
//!
//! The engine, the dataset writer and the plugins write their messages for a command line,
//! where a path is what the user needs ("no pretrained weights for `yolov8n.pt`
//! (/srv/af/weights/yolov8n.safetensors not found)"). Through the server the directory is the
//! server's business: users get the file name (`yolov8n.safetensors not found`), and the full
//! message stays in the server log. [`redact`] does this for text that passes through;
//! failures the server itself causes (database, storage) get a message of their own, see
//! [`internal`].

use std::path::Path;

use crate::state::AppState;

/// Whether `c` may come right before a path (so `train/val` or `http://` are not paths).
fn boundary(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c.is_whitespace() || matches!(c, '(' | '[' | '{' | '"' | '\'' | '`' | '=' | ',' | ';'),
    }
}

/// The end (byte index) of a path that starts at `start`: the next whitespace or closing
/// punctuation, or a `:` / `.` / `,` that ends a clause.
fn path_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        let ends_clause = matches!(c, ':' | ',' | ';' | '.') && next.is_none_or(char::is_whitespace);
        if c.is_whitespace() || matches!(c, ')' | ']' | '}' | '"' | '\'' | '`') || ends_clause {
            return start + i;
        }
    }
    text.len()
}

/// The last component of a path (`/a/b/c.png` → `c.png`).
fn file_name(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or_default()
}

/// `text` with every path under one of `roots`, and every absolute path, cut to its file name.
pub fn redact_with(text: &str, roots: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let before = text[..i].chars().next_back();
        // A configured root may hold spaces: the path's end is looked for after it.
        let root = roots.iter().find(|r| rest.starts_with(r.as_str()) && rest[r.len()..].starts_with('/')).map(String::len);
        let absolute = rest.starts_with('/') && rest[1..].chars().next().is_some_and(|c| !c.is_whitespace() && c != '/');
        if boundary(before) && (root.is_some() || absolute) {
            let end = path_end(text, i + root.unwrap_or(0));
            let name = file_name(&text[i..end]);
            out.push_str(if name.is_empty() { "(a server directory)" } else { name });
            i = end;
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The server's directories as they may appear in messages: as configured (possibly
/// relative) and absolute, longest first.
fn roots(state: &AppState) -> Vec<String> {
    let mut out = Vec::new();
    for dir in [state.config.data_dir.as_path(), state.config.jobs.weights_dir.as_path(), state.storage.root()] {
        push_dir(&mut out, dir);
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.len()));
    out.dedup();
    out
}

fn push_dir(out: &mut Vec<String>, dir: &Path) {
    let shown = dir.display().to_string();
    let trimmed = shown.trim_end_matches('/').trim_start_matches("./");
    if !trimmed.is_empty() && trimmed != "." {
        out.push(trimmed.to_string());
        out.push(format!("./{trimmed}"));
    }
    if let Ok(abs) = dir.canonicalize() {
        out.push(abs.display().to_string());
    }
}

/// `text` without the server's paths (see the module docs).
pub fn redact(state: &AppState, text: &str) -> String {
    redact_with(text, &roots(state))
}

/// A failure of the server itself (database, storage, a crashed thread) while doing `what`:
/// the cause goes to the log, the user reads that it was the server's fault.
pub fn internal(what: &str, cause: &dyn std::fmt::Display) -> String {
    tracing::error!(error = %cause, "{what} failed");
    format!("{what} failed because of a problem on the server (the server log has the details); try again, or ask an admin if it keeps failing")
}

#[cfg(test)]
mod tests {
    use super::redact_with;

    #[test]
    fn paths_are_cut_to_their_file_name() {
        let roots = vec!["/srv/af data".to_string(), "data".to_string()];
        let cases = [
            (
                "no pretrained weights for `yolov8n.pt` (/srv/af data/weights/yolov8n.safetensors not found): training from scratch",
                "no pretrained weights for `yolov8n.pt` (yolov8n.safetensors not found): training from scratch",
            ),
            ("pretrained data/weights/yolov8s.safetensors (355 of 355 tensors)", "pretrained yolov8s.safetensors (355 of 355 tensors)"),
            ("weights /tmp/x/models/job-3-1.safetensors: not a safetensors file", "weights job-3-1.safetensors: not a safetensors file"),
            ("dataset /var/lib/af/datasets/job-7: no data.yaml.", "dataset job-7: no data.yaml."),
            ("train: skipped /data/images/ab/abcd.png: cannot decode", "train: skipped abcd.png: cannot decode"),
            ("resumed from /a/b/last.safetensors after epoch 3", "resumed from last.safetensors after epoch 3"),
            ("'/etc/passwd' and \"/root/\"", "'passwd' and \"root\""),
        ];
        for (text, want) in cases {
            assert_eq!(redact_with(text, &roots), want, "{text}");
        }
        // Not paths: words with slashes inside, URLs, division, a lone slash.
        for text in ["train/val split 80/20", "see http://127.0.0.1:8000/api/v1", "loss 1.5 / 2", "metadata/x", "databases/x"] {
            assert_eq!(redact_with(text, &roots), text);
        }
    }
}
