//! The target server: `--into postgres://…` resolved the way libpq resolves it, and the
//! connection (plain or TLS through rustls).
//!
//! Each setting comes from the URL first, then the service file's section (`service=` in the
//! URL or `PGSERVICE`), then the `PG*` environment variables, then the defaults; a password
//! still missing after that is looked up in `.pgpass` (`PGPASSFILE`, else `~/.pgpass`). The
//! password never appears in a message: [`Target::redacted`] is what is shown.
//!
//! `sslmode` as libpq: `disable`; `prefer` (the default: TLS when the server offers it) and
//! `require` encrypt without checking the certificate, unless a root certificate is given
//! (`sslrootcert`), when `require` checks it as `verify-ca` does; `verify-ca` checks the chain;
//! `verify-full` the chain and the host name. Roots: `sslrootcert` (a PEM file, or `system`
//! for the operating system's store), else `~/.postgresql/root.crt` when present, else the
//! system store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

use super::error::{describe, LoadError};
use crate::error::ErrorKind;

/// How long a connection attempt may take when the URL does not say (`connect_timeout`).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS as `sslmode` asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, certificate unchecked.
    Prefer,
    /// TLS, certificate unchecked (checked as `verify-ca` when a root certificate is given).
    Require,
    /// TLS, certificate chain checked against the roots.
    VerifyCa,
    /// TLS, chain and host name checked.
    VerifyFull,
}

/// A resolved target: the client configuration, TLS settings and the redacted URL.
pub struct Target {
    config: Config,
    tls: Tls,
    root_cert: Option<String>,
    redacted: String,
}

/// The settings a URL, a service file or the environment may give (libpq's names).
const KNOWN: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "service",
    "connect_timeout",
    "application_name",
    "options",
    "passfile",
];

/// The `PG*` variable of each setting.
const ENV: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("port", "PGPORT"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("dbname", "PGDATABASE"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("application_name", "PGAPPNAME"),
    ("options", "PGOPTIONS"),
    ("passfile", "PGPASSFILE"),
];

impl Target {
    /// Resolves `url` with the process environment.
    pub fn from_url(url: &str) -> Result<Target, LoadError> {
        Target::resolve(url, &|name| std::env::var(name).ok())
    }

    /// Resolves `url`; `env` gives environment variables (tests pass their own).
    pub fn resolve(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Target, LoadError> {
        let mut settings = parse_url(url)?;
        let service = settings
            .get("service")
            .cloned()
            .or_else(|| env("PGSERVICE"));
        if let Some(service) = service {
            for (k, v) in service_settings(&service, env)? {
                settings.entry(k).or_insert(v);
            }
        }
        for (key, var) in ENV {
            if !settings.contains_key(*key) {
                if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                    settings.insert((*key).to_string(), v);
                }
            }
        }
        let user = match settings.get("user") {
            Some(u) => u.clone(),
            None => env("USER").or_else(|| env("LOGNAME")).ok_or_else(|| {
                LoadError::Target(
                    "no user: name one in the URL (postgres://user@host/db) or in PGUSER".into(),
                )
            })?,
        };
        let host = settings
            .get("host")
            .cloned()
            .unwrap_or_else(|| "localhost".into());
        let port: u16 = match settings.get("port") {
            Some(p) => p
                .parse()
                .map_err(|_| LoadError::Target(format!("port {p:?} is not a port number")))?,
            None => 5432,
        };
        let dbname = settings
            .get("dbname")
            .cloned()
            .unwrap_or_else(|| user.clone());
        if !settings.contains_key("password") {
            let passfile = settings
                .get("passfile")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")));
            if let Some(p) = passfile.and_then(|f| pgpass_lookup(&f, &host, port, &dbname, &user)) {
                settings.insert("password".into(), p);
            }
        }
        let mut config = Config::new();
        config.user(&user).dbname(&dbname).port(port);
        if host.starts_with('/') {
            config.host_path(&host);
        } else {
            config.host(&host);
        }
        if let Some(p) = settings.get("password") {
            config.password(p);
        }
        if let Some(a) = settings.get("application_name") {
            config.application_name(a);
        } else {
            config.application_name("fauna-sync");
        }
        if let Some(o) = settings.get("options") {
            config.options(o);
        }
        let timeout = match settings.get("connect_timeout") {
            Some(t) => t
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    LoadError::Target(format!(
                        "connect_timeout {t:?} is not a positive number of seconds"
                    ))
                })?,
            None => DEFAULT_CONNECT_TIMEOUT,
        };
        config.connect_timeout(timeout);
        let tls = match settings.get("sslmode").map(String::as_str) {
            None | Some("prefer") => Tls::Prefer,
            Some("disable") => Tls::Disable,
            Some("allow") => Tls::Prefer,
            Some("require") => Tls::Require,
            Some("verify-ca") => Tls::VerifyCa,
            Some("verify-full") => Tls::VerifyFull,
            Some(other) => {
                return Err(LoadError::Target(format!(
                    "sslmode {other:?}: use disable, prefer, require, verify-ca or verify-full"
                )))
            }
        };
        config.ssl_mode(match tls {
            Tls::Disable => SslMode::Disable,
            Tls::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        let root_cert = settings.get("sslrootcert").cloned().or_else(|| {
            let default = Path::new(&env("HOME")?).join(".postgresql/root.crt");
            default
                .exists()
                .then(|| default.to_string_lossy().into_owned())
        });
        let host_shown = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let redacted = format!(
            "postgres://{}@{host_shown}:{port}/{}",
            percent_encode(&user),
            percent_encode(&dbname)
        );
        Ok(Target {
            config,
            tls,
            root_cert,
            redacted,
        })
    }

    /// The URL without its password or parameters, for messages.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The TLS mode.
    pub fn tls(&self) -> Tls {
        self.tls
    }

    /// Connects; the connection's driver runs as a task until the client is dropped.
    pub async fn connect(&self) -> Result<Client, LoadError> {
        let fail = |e: tokio_postgres::Error| {
            let kind = match e.as_db_error() {
                Some(db) => super::error::kind_of_code(db.code().code()),
                // A certificate that does not check out stays so: a configuration error.
                None if tls_failure(&e) => ErrorKind::Config,
                None => ErrorKind::Transient,
            };
            LoadError::Connect {
                target: self.redacted.clone(),
                reason: describe(&e),
                kind,
            }
        };
        if self.tls == Tls::Disable {
            let (client, connection) = self.config.connect(NoTls).await.map_err(fail)?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "The PostgreSQL connection ended.");
                }
            });
            return Ok(client);
        }
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config()?);
        let (client, connection) = self.config.connect(tls).await.map_err(fail)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "The PostgreSQL connection ended.");
            }
        });
        Ok(client)
    }

    /// The rustls configuration of this mode.
    fn tls_config(&self) -> Result<rustls::ClientConfig, LoadError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| LoadError::Target(format!("TLS: {e}")))?;
        let check = match self.tls {
            Tls::Disable | Tls::Prefer => None,
            Tls::Require => self.root_cert.as_ref().map(|_| false),
            Tls::VerifyCa => Some(false),
            Tls::VerifyFull => Some(true),
        };
        let verifier: Arc<dyn ServerCertVerifier> = match check {
            None => Arc::new(Unchecked(provider)),
            Some(host_name) => {
                let roots = Arc::new(self.roots()?);
                let webpki =
                    rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                        .build()
                        .map_err(|e| LoadError::Target(format!("TLS roots: {e}")))?;
                Arc::new(Checked { webpki, host_name })
            }
        };
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }

    /// The root certificates: `sslrootcert`'s PEM file, or the system's.
    fn roots(&self) -> Result<rustls::RootCertStore, LoadError> {
        let mut roots = rustls::RootCertStore::empty();
        match self.root_cert.as_deref() {
            Some(path) if path != "system" => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect())
                    .map_err(|e| {
                        LoadError::Target(format!(
                            "sslrootcert {path}: cannot read PEM certificates: {e}"
                        ))
                    })?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(LoadError::Target(format!(
                        "sslrootcert {path}: no certificate in it"
                    )));
                }
            }
            _ => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(LoadError::Target(
                        "no system root certificates (install ca-certificates, or name a PEM file with sslrootcert=…)".into(),
                    ));
                }
            }
        }
        Ok(roots)
    }
}

/// Whether a connection failed in the TLS handshake (a rustls error under the client's).
fn tls_failure(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<TlsError>().is_some() {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<TlsError>().is_some())
            {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// Encrypts without checking the certificate (libpq's `prefer` and `require`); handshake
/// signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks the chain against the roots, and the host name when `host_name`.
#[derive(Debug)]
struct Checked {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    host_name: bool,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.host_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The settings a `postgres://` / `postgresql://` URL gives, percent-decoded.
fn parse_url(url: &str) -> Result<BTreeMap<String, String>, LoadError> {
    let bad = |reason: &str| {
        LoadError::Target(format!(
            "{reason}; expected postgres://user@host:port/database?sslmode=… (the password in PGPASSWORD, a service file or ~/.pgpass)"
        ))
    };
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| bad("not a postgres:// URL"))?;
    let mut out = BTreeMap::new();
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (rest, None),
    };
    let host_port = match authority.rsplit_once('@') {
        Some((userinfo, hp)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                out.insert(
                    "user".into(),
                    decode(user).map_err(|_| bad("bad %-escape in the user"))?,
                );
            }
            if let Some(p) = password {
                out.insert(
                    "password".into(),
                    decode(p).map_err(|_| bad("bad %-escape in the password"))?,
                );
            }
            hp
        }
        None => authority,
    };
    if host_port.contains(',') {
        return Err(bad("several hosts are not supported"));
    }
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed [ in the host"))?;
        (h.to_string(), after.strip_prefix(':').map(str::to_string))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.to_string())),
            None => (host_port.to_string(), None),
        }
    };
    if !host.is_empty() {
        out.insert(
            "host".into(),
            decode(&host).map_err(|_| bad("bad %-escape in the host"))?,
        );
    }
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        out.insert("port".into(), p);
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        out.insert(
            "dbname".into(),
            decode(db).map_err(|_| bad("bad %-escape in the database name"))?,
        );
    }
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k).map_err(|_| bad("bad %-escape in a parameter"))?;
        if !KNOWN.contains(&k.as_str()) {
            return Err(bad(&format!(
                "unsupported parameter {k:?} (supported: {})",
                KNOWN.join(", ")
            )));
        }
        let v = decode(v).map_err(|_| bad("bad %-escape in a parameter"))?;
        out.insert(k, v);
    }
    Ok(out)
}

/// Percent-decoding (`+` stays a plus, as in libpq).
fn decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(())?;
            let text = std::str::from_utf8(hex).map_err(|_| ())?;
            out.push(u8::from_str_radix(text, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// Percent-encoding of what is not a URL's unreserved character.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The settings of `service` from the service files: `PGSERVICEFILE` (else
/// `~/.pg_service.conf`), then `PGSYSCONFDIR/pg_service.conf` (else
/// `/etc/postgresql-common/pg_service.conf`); the first file with the section wins.
fn service_settings(
    service: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, LoadError> {
    let user_file = env("PGSERVICEFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pg_service.conf")));
    let system_file =
        Path::new(&env("PGSYSCONFDIR").unwrap_or_else(|| "/etc/postgresql-common".into()))
            .join("pg_service.conf");
    for file in user_file.into_iter().chain([system_file]) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Some(found) = service_section(&text, service) {
            for (k, _) in &found {
                if !KNOWN.contains(&k.as_str()) || k == "service" {
                    return Err(LoadError::Target(format!(
                        "service {service:?} in {}: unsupported setting {k:?}",
                        file.display()
                    )));
                }
            }
            return Ok(found);
        }
    }
    Err(LoadError::Target(format!(
        "definition of service {service:?} not found (PGSERVICEFILE, ~/.pg_service.conf, PGSYSCONFDIR/pg_service.conf)"
    )))
}

/// The `key=value` lines of section `[service]` of a service file, if it has one.
fn service_section(text: &str, service: &str) -> Option<Vec<(String, String)>> {
    let mut found: Option<Vec<(String, String)>> = None;
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if found.is_some() {
                break;
            }
            inside = name == service;
            if inside {
                found = Some(Vec::new());
            }
            continue;
        }
        if let (true, Some(settings), Some((k, v))) = (inside, found.as_mut(), line.split_once('='))
        {
            settings.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    found
}

/// The password `.pgpass` gives for this connection: the first line
/// `host:port:database:user:password` whose fields match (`*` matches anything; `\:` and
/// `\\` escape). Ignored, as libpq does, when the file is readable by group or others.
fn pgpass_lookup(file: &Path, host: &str, port: u16, dbname: &str, user: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(file = %file.display(), "The password file is readable by group or others; it is ignored (chmod 0600 it).");
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let port = port.to_string();
    let host = if host.starts_with('/') {
        "localhost"
    } else {
        host
    };
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            continue;
        }
        let want = [host, port.as_str(), dbname, user];
        if fields[..4]
            .iter()
            .zip(want)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

/// A `.pgpass` line's fields, unescaped; the fifth takes the rest of the line.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if let Some(last) = fields.last_mut() {
                        last.push(n);
                    }
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn urls_resolve_with_the_environment_below_them_and_never_show_the_password() {
        let t = Target::resolve(
            "postgres://loader:s%40cret@db.example:6543/ware%20house?sslmode=verify-full&application_name=x",
            &env_of(&[("PGPASSWORD", "other"), ("PGHOST", "ignored")]),
        )
        .unwrap();
        assert_eq!(
            t.redacted(),
            "postgres://loader@db.example:6543/ware%20house"
        );
        assert_eq!(t.tls(), Tls::VerifyFull);
        assert_eq!(t.config.get_password(), Some(&b"s@cret"[..]));
        assert_eq!(t.config.get_dbname(), Some("ware house"));
        let t = Target::resolve(
            "postgresql://",
            &env_of(&[("PGPASSWORD", "pw"), ("PGUSER", "u"), ("PGPORT", "7777")]),
        )
        .unwrap();
        assert_eq!(t.redacted(), "postgres://u@localhost:7777/u");
        assert_eq!(t.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(t.tls(), Tls::Prefer);
        let t = Target::resolve("postgres://u@[::1]:5/d", &env_of(&[])).unwrap();
        assert_eq!(t.redacted(), "postgres://u@[::1]:5/d");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_the_password() {
        for (url, says) in [
            ("mysql://u:pw@h/d", "not a postgres:// URL"),
            (
                "postgres://u:pw@h/d?sslcert=x",
                "unsupported parameter \"sslcert\"",
            ),
            (
                "postgres://u:pw@h:port/d",
                "port \"port\" is not a port number",
            ),
            (
                "postgres://u:pw@h/d?sslmode=sometimes",
                "sslmode \"sometimes\"",
            ),
            ("postgres://u:pw@a,b/d", "several hosts"),
        ] {
            let e = Target::resolve(url, &env_of(&[]))
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains(says), "{url}: {e}");
            assert!(!e.contains("pw"), "{e}");
        }
    }

    #[test]
    fn service_files_and_pgpass_give_what_the_url_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let services = dir.path().join("services.conf");
        std::fs::write(
            &services,
            "# comment\n[other]\nhost=wrong\n[wh]\nhost=svc.example\nport=6000\ndbname=ware\nuser=svc\n",
        )
        .unwrap();
        let pgpass = dir.path().join("pgpass");
        std::fs::write(
            &pgpass,
            "other:*:*:*:no\nsvc.example:6000:ware:svc:pa\\:ss\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let env = env_of(&[
            ("PGSERVICEFILE", services.to_str().unwrap()),
            ("PGPASSFILE", pgpass.to_str().unwrap()),
        ]);
        let t = Target::resolve("postgres:///?service=wh", &env).unwrap();
        assert_eq!(t.redacted(), "postgres://svc@svc.example:6000/ware");
        assert_eq!(t.config.get_password(), Some(&b"pa:ss"[..]));
        let e = Target::resolve("postgres:///?service=none", &env)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("service \"none\" not found"), "{e}");
    }
}
