//! The real Kusto Python client (`azure-kusto-data==6.0.4`, pinned) against servers
//! started in-process on ephemeral loopback ports. The client runs
//! `tests/python/client_check.py` from a venv under `target/kusto-venv`, created on
//! first use (needs `python3 -m venv` and PyPI). A missing python or a failed install
//! fails the test: it never skips.

use crate::support::*;
use server::auth::{keys_path, KeyFile, Role};
use server::ServerConfig;
use std::path::{Path, PathBuf};
use std::process::Command;

const CLIENT: &str = "azure-kusto-data==6.0.4";

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

/// The venv's python, creating the venv and installing the client when needed.
fn venv_python() -> PathBuf {
    let venv = target_dir().join("kusto-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join(".clickhunt-installed");
    let ready = std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == CLIENT)
        && Command::new(&python)
            .args(["-c", "import azure.kusto.data, pandas"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "creating the Python venv (python3 -m venv; install python3-venv if missing)",
        );
        run(
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                CLIENT,
                "pandas",
            ]),
            "installing azure-kusto-data 6.0.4 and pandas with pip (PyPI must be reachable)",
        );
        std::fs::write(&marker, CLIENT).expect("writing the venv marker");
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_kusto_data_client_against_the_server() {
    let python = tokio::task::spawn_blocking(venv_python).await.unwrap();

    let (open_addr, stop_open) = spawn_server(open_state()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = keys_path(dir.path());
    let mut keys = KeyFile::default();
    let (_, reader) = keys.create(Role::Reader, Some("python".into())).unwrap();
    keys.save(&path).unwrap();
    let keyed = state(ServerConfig {
        keys_path: Some(path),
        ..Default::default()
    });
    let (keyed_addr, stop_keyed) = spawn_server(keyed).await;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/client_check.py");
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .env("CLICKHUNT_URL", format!("http://{open_addr}"))
            .env("CLICKHUNT_KEYED_URL", format!("http://{keyed_addr}"))
            .env("CLICKHUNT_READER_KEY", reader)
            .output()
    })
    .await
    .unwrap()
    .expect("running client_check.py");
    let _ = stop_open.send(());
    let _ = stop_keyed.send(());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client_check.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("checks passed"), "{stdout}\n{stderr}");
    eprintln!("{} in {:?}", stdout.trim(), started.elapsed());
}
