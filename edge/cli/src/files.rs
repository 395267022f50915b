//! Reading and writing the tool's files: PEM certificates and keys, written once (never over
//! an existing file) and private keys readable by their owner only.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Writes `text` to a new file `dir/name`; a private key gets mode 0600.
pub fn write_new(dir: &Path, name: &str, text: &str, private: bool) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let path = dir.join(name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!("{} exists: not overwritten", path.display())
        }
        _ => format!("cannot write {}: {e}", path.display()),
    })?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// The text of a file.
pub fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The text of `dir/name` if that file exists.
pub fn read_optional(dir: &Path, name: &str) -> Result<Option<String>, String> {
    let path = dir.join(name);
    if path.exists() {
        read(&path).map(Some)
    } else {
        Ok(None)
    }
}

/// The DER of every CERTIFICATE block of a PEM text, in order.
pub fn certificates(pem: &str, what: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut ders = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|e| format!("{what}: not PEM: {e}"))?;
        if block.label == "CERTIFICATE" {
            ders.push(block.contents);
        }
    }
    if ders.is_empty() {
        return Err(format!("{what}: no CERTIFICATE in it"));
    }
    Ok(ders)
}
