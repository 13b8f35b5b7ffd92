//! Every file the host keeps, under one data directory:
//!
//! ```text
//! <data>/annotateforge.db        SQLite database (default backend)
//! <data>/jwt_secret              token-signing secret, generated on first start (0600)
//! <data>/images/ab/<sha256>.png  uploaded images, content-addressed (one file per content)
//! <data>/datasets/               prepared training datasets
//! <data>/models/<key>.safetensors registered models' weights (key: `job-<id>-<sha8>`)
//! <data>/jobs/<id>/               a training job's run directory (checkpoints, for resume)
//! <data>/tmp/                    scratch space (imports), same filesystem for atomic renames
//! <data>/plugin-cache/           compiled plugin components (`<sha256>-<engine>.cwasm`)
//! ```
//!
//! All file access goes through here, so an object store can replace the local disk later.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// Creates the directory layout if needed.
    pub fn open(root: &Path) -> anyhow::Result<Storage> {
        for sub in ["images", "datasets", "models", "jobs", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).with_context(|| format!("creating {}", root.join(sub).display()))?;
        }
        Ok(Storage { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn datasets_dir(&self) -> PathBuf {
        self.root.join("datasets")
    }
    pub fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
    /// Compiled plugin components, private to the host (loading one trusts its contents).
    pub fn plugin_cache_dir(&self) -> PathBuf {
        self.root.join("plugin-cache")
    }

    /// The key under which content with this hash and extension is stored.
    pub fn image_key(sha256_hex: &str, ext: &str) -> String {
        format!("{}/{sha256_hex}.{ext}", &sha256_hex[..2])
    }

    fn image_path(&self, key: &str) -> anyhow::Result<PathBuf> {
        // Keys are ours (`ab/<hex>.<ext>`); refuse anything else rather than touch other paths.
        let ok = key.split('/').count() == 2
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.')
            && !key.contains("..");
        anyhow::ensure!(ok, "invalid storage key {key:?}");
        Ok(self.root.join("images").join(key))
    }

    /// Stores image bytes under `key` (atomically: temp file + rename; a no-op if present).
    pub fn put_image(&self, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.image_path(key)?;
        if path.exists() {
            return Ok(());
        }
        let dir = path.parent().expect("keys have a directory");
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.persist(&path).with_context(|| format!("storing {}", path.display()))?;
        Ok(())
    }

    pub async fn read_image(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.image_path(key)?;
        tokio::fs::read(&path).await.with_context(|| format!("reading {}", path.display()))
    }

    /// The image's path on local disk (for dataset preparation).
    pub fn image_file(&self, key: &str) -> anyhow::Result<PathBuf> {
        self.image_path(key)
    }

    pub fn remove_image(&self, key: &str) -> anyhow::Result<()> {
        let path = self.image_path(key)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Where job `id` prepares its dataset.
    pub fn job_dataset_dir(&self, job_id: i64) -> PathBuf {
        self.datasets_dir().join(format!("job-{job_id}"))
    }

    /// Job `id`'s run directory (checkpoints, logs), kept across resumes.
    pub fn job_run_dir(&self, job_id: i64) -> PathBuf {
        self.root.join("jobs").join(job_id.to_string())
    }

    fn model_path(&self, key: &str) -> anyhow::Result<PathBuf> {
        let ok = key.ends_with(".safetensors")
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && !key.starts_with('.');
        anyhow::ensure!(ok, "invalid model key {key:?}");
        Ok(self.models_dir().join(key))
    }

    /// Copies a weights file into the registry as `key` (temp file + rename, so a reader never
    /// sees half a file). Returns its size in bytes and SHA-256.
    pub fn put_model(&self, src: &Path, key: &str) -> anyhow::Result<(u64, String)> {
        use sha2::Digest;
        let dest = self.model_path(key)?;
        let bytes = std::fs::read(src).with_context(|| format!("reading {}", src.display()))?;
        let sha = hex::encode(sha2::Sha256::digest(&bytes));
        let mut tmp = tempfile::NamedTempFile::new_in(self.models_dir())?;
        tmp.write_all(&bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&dest).with_context(|| format!("storing {}", dest.display()))?;
        Ok((bytes.len() as u64, sha))
    }

    /// The path of a registered model's weights.
    pub fn model_file(&self, key: &str) -> anyhow::Result<PathBuf> {
        self.model_path(key)
    }

    pub fn remove_model(&self, key: &str) -> anyhow::Result<()> {
        let path = self.model_path(key)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        // Its exports (ONNX, TorchScript, …) go with it.
        match std::fs::remove_dir_all(self.model_exports_dir(key)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Where the exports of the weights stored as `key` are cached:
    /// `<data>/models/exports/<key without .safetensors>/` (keys are checked names, so this
    /// stays inside the models directory).
    pub fn model_exports_dir(&self, key: &str) -> anyhow::Result<PathBuf> {
        self.model_path(key)?;
        let stem = key.strip_suffix(".safetensors").unwrap_or(key);
        Ok(self.models_dir().join("exports").join(stem))
    }

    /// The token-signing secret: read from `<data>/jwt_secret`, or generated and written
    /// there (readable by the owner only) on first start.
    pub fn jwt_secret(&self) -> anyhow::Result<Vec<u8>> {
        let path = self.root.join("jwt_secret");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
            anyhow::ensure!(bytes.len() >= 32, "{} holds fewer than 32 bytes", path.display());
            return Ok(bytes);
        }
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut bytes = vec![0u8; 64];
        OsRng.fill_bytes(&mut bytes);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&path) {
            Ok(mut f) => {
                f.write_all(hex::encode(&bytes).as_bytes())?;
                tracing::info!(path = %path.display(), "generated a new token-signing secret");
                Ok(bytes)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.jwt_secret(),
            Err(e) => Err(anyhow::Error::from(e).context(format!("writing {}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        let a = s.jwt_secret().unwrap();
        let b = Storage::open(dir.path()).unwrap().jwt_secret().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("jwt_secret")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn images_are_content_addressed_and_keys_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        let key = Storage::image_key("abcdef", "png");
        assert_eq!(key, "ab/abcdef.png");
        s.put_image(&key, b"x").unwrap();
        s.put_image(&key, b"x").unwrap();
        assert!(s.image_file(&key).unwrap().exists());
        s.remove_image(&key).unwrap();
        s.remove_image(&key).unwrap();
        assert!(s.put_image("../../etc/passwd", b"x").is_err());
        assert!(s.image_file("ab/../../x").is_err());
    }

    #[test]
    fn models_are_copied_in_whole_and_keys_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        let src = dir.path().join("best.safetensors");
        std::fs::write(&src, b"weights").unwrap();
        let (size, sha) = s.put_model(&src, "job-1-abc.safetensors").unwrap();
        assert_eq!((size, sha.len()), (7, 64));
        assert_eq!(std::fs::read(s.model_file("job-1-abc.safetensors").unwrap()).unwrap(), b"weights");
        s.remove_model("job-1-abc.safetensors").unwrap();
        s.remove_model("job-1-abc.safetensors").unwrap();
        assert!(s.model_file("../jwt_secret.safetensors").is_err());
        assert!(s.model_file("job-1.pt").is_err());
    }
}
