//! The Airbyte commands as the CLI runs them: each writes its messages and returns the exit
//! code. `check` always answers with one CONNECTION_STATUS and exits 0; `discover` and `read`
//! report a failure as one TRACE error and exit non-zero. A closed stdout ends quietly (0).

use std::io::Write;
use std::path::Path;

use crate::config::{Overrides, Settings};
use crate::fauna::Expr;
use crate::run::{client, Use};

use super::catalog::{parse_catalog, ConfiguredStream};
use super::checks::{check_collection, check_index};
use super::discover::discover;
use super::error::AirbyteError;
use super::input_state::{parse_state, InputState};
use super::protocol::{
    ConnectionStatus, ErrorTrace, Message, MessageWriter, Status, Trace, WriteError,
};
use super::spec::spec;

/// Retries of transient failures during check (it answers within seconds).
const CHECK_RETRIES: usize = 1;

/// `spec`.
pub fn spec_command<W: Write>(out: &mut MessageWriter<W>) -> i32 {
    match spec() {
        Ok(spec) => finish(out.write(&Message::Spec { spec }), 0),
        Err(e) => {
            let error = ErrorTrace {
                message: e.to_string(),
                internal_message: None,
                failure_type: "system_error",
                stream_descriptor: None,
            };
            finish(
                out.write(&Message::Trace {
                    trace: Trace::error(error),
                }),
                1,
            )
        }
    }
}

/// `check --config F`.
pub async fn check_command<W: Write>(config: &Path, out: &mut MessageWriter<W>) -> i32 {
    let status = match check(config).await {
        Ok(()) => ConnectionStatus {
            status: Status::Succeeded,
            message: None,
        },
        Err(e) => ConnectionStatus {
            status: Status::Failed,
            message: Some(e.to_string()),
        },
    };
    finish(
        out.write(&Message::ConnectionStatus {
            connection_status: status,
        }),
        0,
    )
}

/// Loads the config as `export` does, without command-line overrides.
pub fn load_settings(config: &Path) -> Result<Settings, AirbyteError> {
    Ok(Settings::load(Some(config), Overrides::default())?)
}

/// Validates the config, connects, and checks each configured collection and index.
pub async fn check(config: &Path) -> Result<(), AirbyteError> {
    let settings = load_settings(config)?;
    let client = client(
        &settings,
        Use::Answer {
            retries: CHECK_RETRIES,
        },
    )
    .map_err(AirbyteError::fauna("setting up the client"))?;
    client
        .query(&Expr::now())
        .await
        .map_err(AirbyteError::fauna(format!(
            "connecting to {}",
            settings.endpoint
        )))?;
    match &settings.collections {
        Some(configured) => {
            for coll in configured {
                check_collection(&client, &coll.name).await?;
                if let Some(index) = &coll.index {
                    check_index(&client, &coll.name, index).await?;
                }
            }
        }
        None => {
            crate::read::list_collections(&client)
                .await
                .map_err(AirbyteError::fauna("listing the collections"))?;
        }
    }
    Ok(())
}

/// `discover --config F`.
pub async fn discover_command<W: Write>(config: &Path, out: &mut MessageWriter<W>) -> i32 {
    let result = match load_settings(config) {
        Ok(settings) => discover(&settings).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(catalog) => finish(out.write(&Message::Catalog { catalog }), 0),
        Err(e) => fail(out, &e),
    }
}

/// The inputs of `read`, parsed and checked.
#[derive(Debug)]
pub struct ReadInputs {
    /// The configuration.
    pub settings: Settings,
    /// The streams to read, in catalog order.
    pub streams: Vec<ConfiguredStream>,
    /// Each stream's input state (absent: read from the start).
    pub state: InputState,
    /// The `--state` file as given (empty without one), for messages.
    pub state_path: String,
}

/// Reads and checks `read`'s files.
pub fn read_inputs(
    config: &Path,
    catalog: &Path,
    state: Option<&Path>,
) -> Result<ReadInputs, AirbyteError> {
    let settings = load_settings(config)?;
    let unreadable = |flag: &'static str, path: &Path, e: std::io::Error| AirbyteError::Input {
        flag,
        path: path.display().to_string(),
        problem: format!("cannot read it ({e})"),
        fix: "Check the path",
    };
    let catalog_bytes = std::fs::read(catalog).map_err(|e| unreadable("--catalog", catalog, e))?;
    let known: Option<Vec<String>> = settings
        .collections
        .as_ref()
        .map(|c| c.iter().map(|c| c.name.clone()).collect());
    let streams = parse_catalog(
        &catalog_bytes,
        &catalog.display().to_string(),
        known.as_deref(),
    )?;
    let state_bytes = match state {
        Some(p) => Some(std::fs::read(p).map_err(|e| unreadable("--state", p, e))?),
        None => None,
    };
    let state_path = state.map(|p| p.display().to_string()).unwrap_or_default();
    let state = parse_state(state_bytes.as_deref(), &state_path)?;
    Ok(ReadInputs {
        settings,
        streams,
        state,
        state_path,
    })
}

/// `read --config F --catalog F [--state F]`.
pub async fn read_command<W: Write + Send + 'static>(
    config: &Path,
    catalog: &Path,
    state: Option<&Path>,
    out: MessageWriter<W>,
) -> i32 {
    let out = std::sync::Arc::new(std::sync::Mutex::new(out));
    match read_inputs(config, catalog, state) {
        Ok(inputs) => super::read::read(inputs, out).await,
        Err(e) => {
            let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
            fail(&mut w, &e)
        }
    }
}

/// Reports `e` as a TRACE error; returns its exit code.
pub fn fail<W: Write>(out: &mut MessageWriter<W>, e: &AirbyteError) -> i32 {
    let kind = e.kind();
    tracing::error!("{e}");
    let error = ErrorTrace {
        message: e.to_string(),
        internal_message: None,
        failure_type: kind.airbyte_failure_type(),
        stream_descriptor: None,
    };
    finish(
        out.write(&Message::Trace {
            trace: Trace::error(error),
        }),
        kind.exit_code(),
    )
}

/// `code`, unless writing failed: a closed stdout is a quiet stop (0), anything else exit 1.
fn finish(written: Result<(), WriteError>, code: i32) -> i32 {
    match written {
        Ok(()) => code,
        Err(WriteError::BrokenPipe) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
