//! Everything that renders results for people and tools: one [`palette`], the human report,
//! JSON lines and JUnit ([`human`]), the progress line ([`progress`]), Markdown ([`markdown`])
//! and the two tracks side by side ([`compare`]). Renderers write to any `Write`.

pub mod compare;
pub mod human;
pub mod markdown;
pub mod palette;
pub mod progress;
