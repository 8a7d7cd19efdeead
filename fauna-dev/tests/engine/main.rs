//! Engine tests through `Engine::execute`.

mod basics;
mod support;
