//! Everything that renders results for people and tools: one [`palette`], the human report
//! ([`human`]), JSON lines ([`json`]), JUnit ([`junit`]), the progress line ([`progress`]), Markdown ([`markdown`])
//! and the two tracks side by side ([`compare`]). Renderers write to any `Write`.

pub mod compare;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod palette;
pub mod progress;
