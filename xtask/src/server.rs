//! A small static file server for dist/ on 127.0.0.1, as one of two kinds of host ([`Host`]): one that rewrites, at
//! the site root (an address without a file extension that is not a file, `/kernels`, gets `index.html`, and the
//! app's router takes it from there), or a plain static host under a sub-path that cannot rewrite and answers any
//! miss with the site's `404.html` (GitHub Pages and the like; the end-to-end tests serve the site this way too).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// How a host finds the file for an address.
#[derive(Clone, Debug)]
pub enum Host {
    /// The site at the root; a route (`/kernels`) gets `index.html`.
    Rewriting,
    /// The site under `prefix` (`/some/path`, no trailing slash), nothing anywhere else; no rewriting: a miss gets
    /// `404.html` with status 404, as hosts without rewrites answer.
    Plain {
        /// Where the site lives.
        prefix: String,
    },
}

/// Serves `root` on 127.0.0.1:`port` (0 picks a free port) from a background thread as `host` does; returns the
/// port.
pub fn spawn(root: PathBuf, port: u16, host: Host) -> io::Result<(u16, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (root, host) = (root.clone(), host.clone());
            std::thread::spawn(move || {
                let _ = respond(stream, &root, &host);
            });
        }
    });
    Ok((port, handle))
}

fn respond(mut stream: TcpStream, root: &Path, host: &Host) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let found = match host {
        Host::Rewriting => resolve(root, path).map(|file| ("200 OK", file)),
        Host::Plain { prefix } => match path.strip_prefix(prefix.as_str()).filter(|rest| rest.starts_with('/')).and_then(|rest| file_at(root, rest)) {
            Some(file) => Some(("200 OK", file)),
            None => Some(("404 Not Found", root.join("404.html"))).filter(|(_, page)| page.is_file()),
        },
    };
    let (status, content_type, body) = match found.and_then(|(status, file)| Some((status, content_type(&file), std::fs::read(&file).ok()?))) {
        Some(answer) => answer,
        None => ("404 Not Found", "text/plain", b"not found".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

/// The file for a request path on the rewriting host, or `None` (404).
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    if let Some(file) = file_at(root, path) {
        return Some(file);
    }
    let relative = path.trim_start_matches('/');
    let looks_like_a_route = !relative.contains("..") && !relative.rsplit('/').next().unwrap_or("").contains('.');
    looks_like_a_route.then(|| root.join("index.html"))
}

/// The file at `path` under `root` (`index.html` for a folder), if there is one.
fn file_at(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|part| part == "..") {
        return None;
    }
    let file = root.join(relative);
    let file = if file.is_dir() { file.join("index.html") } else { file };
    file.is_file().then_some(file)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "md" | "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site of two files, `index.html` and `images/a.png`, in a fresh folder.
    fn tiny_site(tag: &str) -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-{tag}-test-{}", std::process::id()));
        std::fs::create_dir_all(root.join("images")).unwrap();
        std::fs::write(root.join("index.html"), "app").unwrap();
        std::fs::write(root.join("images/a.png"), "png").unwrap();
        root
    }

    #[test]
    fn routes_fall_back_to_the_app_and_files_do_not() {
        let root = tiny_site("server");
        assert_eq!(resolve(&root, "/kernels"), Some(root.join("index.html")));
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(resolve(&root, "/images/a.png"), Some(root.join("images/a.png")));
        assert_eq!(resolve(&root, "/images/missing.png"), None);
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_plain_host_serves_files_under_its_prefix_only() {
        let root = tiny_site("plain");
        assert_eq!(file_at(&root, "/"), Some(root.join("index.html")), "a folder's index");
        assert_eq!(file_at(&root, "/images/a.png"), Some(root.join("images/a.png")));
        assert_eq!(file_at(&root, "/kernels"), None, "no rewriting");
        assert_eq!(file_at(&root, "/../etc/passwd"), None);
        std::fs::remove_dir_all(root).unwrap();
    }
}
