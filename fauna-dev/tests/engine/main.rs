//! Engine tests through `Engine::execute`.

mod airbyte;
mod basics;
mod security_dataset;
mod support;
