//! Engine tests through `Engine::execute`.

mod airbyte;
mod basics;
mod perf;
mod security_dataset;
mod support;
