//! Airbyte source mode (`docs/airbyte.md`): `spec`, `check`, `discover` and `read` speaking the
//! Airbyte protocol on stdout, one message per line, as a drop-in replacement for the Python
//! `source-fauna` (same config, and its saved LEGACY state is understood).

mod args;
mod catalog;
mod checks;
mod commands;
mod destination;
mod discover;
mod emit;
mod error;
mod input_state;
mod observer;
mod protocol;
mod read;
mod record;
mod resume;
mod spec;

pub use args::{run_check, run_discover, run_read, run_spec, ConfigArgs, ReadArgs, SpecArgs};
pub use catalog::{parse_catalog, ConfiguredStream};
pub use commands::{
    check, check_command, discover_command, fail, load_settings, read_command, read_inputs,
    spec_command, ReadInputs,
};
pub use discover::{discover, json_schema, stream};
pub use error::AirbyteError;
pub use input_state::{
    parse_state, InputState, LegacyCursor, LegacyFullSync, LegacyPosition, StreamInput,
};
pub use protocol::{
    now_ms, AirbyteRecordMessage, AirbyteStream, AirbyteStreamState, Catalog, ConnectionStatus,
    ErrorTrace, Estimate, Log, Message, MessageWriter, SourceStats, Spec, StateMessage, Status,
    StreamDescriptor, StreamStatus, StreamStatusTrace, SyncMode, Trace, WriteError,
};
pub use record::{has_cdc_columns, record_data, CDC_DELETED_AT, CDC_UPDATED_AT};
pub use spec::{connection_specification, spec, SpecError, DOCUMENTATION_URL, PROTOCOL_VERSION};
