//! Renderers for allclear reports: human, JSON, SARIF 2.1.0, Markdown.
