//! AI and machine-learning providers.

use allclear_core::Severity;

use super::{Filter, Rule, end, keyed};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "secrets.openai-api-key",
        name: "OpenAI API key",
        severity: Severity::Critical,
        keywords: &["t3blbkfj"],
        patterns: &[concat!(
            r"\b(?P<secret>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,200}T3BlbkFJ[A-Za-z0-9_\-]{16,200})",
            end!()
        )],
        description: "An OpenAI API key (the `T3BlbkFJ` marker is in every one): runs models \
            on the organisation's bill and reads its files and fine-tunes.",
        remedy: "Revoke the key (platform.openai.com → API keys) and create a project-scoped \
            one.",
        examples: &[
            "OPENAI_API_KEY=sk-proj-J35mWsNox-14MWa775E8aNQzRf16wBoLRO0nH-7fT3BlbkFJTrnTufg62Mx929uTTg2fvmoGnn48MlhRR52KtXQC",
        ],
        counter_examples: &["sk-3bysodaJrKvyHO8yhFZQ"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.anthropic-api-key",
        name: "Anthropic API key",
        severity: Severity::Critical,
        keywords: &["sk-ant-"],
        patterns: &[concat!(
            r"\b(?P<secret>sk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_\-]{80,120})",
            end!()
        )],
        description: "An Anthropic API or admin key: runs models on the organisation's bill or \
            administers it.",
        remedy: "Disable and delete the key in the Anthropic Console (API keys).",
        examples: &[
            "ANTHROPIC_API_KEY=sk-ant-api03-qH4NWnaI8tZDsROW7RLKH86LGlFbXJoQqhYhTaVaMBQ_75aGZBDQnajhmPt_jxTsmUYY9-il97ve8b351ytQnbrN8Kvy4AA",
        ],
        counter_examples: &["sk-ant-api03-short"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.groq-api-key",
        name: "Groq API key",
        severity: Severity::High,
        keywords: &["gsk_"],
        patterns: &[concat!(r"\b(?P<secret>gsk_[A-Za-z0-9]{52})", end!())],
        filter: Filter::Entropy(3.5),
        description: "A Groq API key: runs models on the account's bill.",
        remedy: "Delete the key in the Groq console and create a new one.",
        examples: &["api_key=\"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\""],
        counter_examples: &["gsk_4JCmex3T0inBOsRZWb6u"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.huggingface-token",
        name: "Hugging Face access token",
        severity: Severity::High,
        keywords: &["hf_", "api_org_"],
        patterns: &[concat!(
            r"\b(?P<secret>(?:hf_|api_org_)[A-Za-z]{34})",
            end!()
        )],
        filter: Filter::Entropy(3.5),
        description: "A Hugging Face user or organisation token: reads private models and \
            datasets, and may push to them.",
        remedy: "Invalidate the token (Settings → Access Tokens) and create a fine-grained one.",
        examples: &["HF_TOKEN:\"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\""],
        counter_examples: &["hf_eMgMVicWGXmluensBuWY"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.ai-provider-key",
        name: "AI provider API key (Replicate, Perplexity, xAI, Tavily, Jina, Firecrawl, LangSmith)",
        severity: Severity::High,
        keywords: &["r8_", "pplx-", "xai-", "tvly-", "jina_", "fc-", "lsv2_"],
        patterns: &[
            concat!(r"\b(?P<secret>r8_[A-Za-z0-9]{37})", end!()),
            concat!(r"\b(?P<secret2>pplx-[A-Za-z0-9]{48})", end!()),
            concat!(r"\b(?P<secret3>xai-[A-Za-z0-9]{80})", end!()),
            concat!(
                r"\b(?P<secret4>tvly-(?:dev-|prod-)?[A-Za-z0-9]{32})",
                end!()
            ),
            concat!(r"\b(?P<secret5>jina_[A-Za-z0-9_\-]{60})", end!()),
            concat!(r"\b(?P<secret6>fc-[0-9a-f]{32})", end!()),
            concat!(
                r"\b(?P<secret7>lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10})",
                end!()
            ),
        ],
        filter: Filter::Entropy(3.0),
        description: "An API key of an AI model, search or scraping provider: runs requests on \
            the account's bill and may read its stored data.",
        remedy: "Revoke the key in the provider's dashboard and create a new one.",
        examples: &[
            "app = FirecrawlApp(api_key=\"fc-250f943614e51348a4914d23c2cb7aab\")",
            "TAVILY_API_KEY=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",
            "REPLICATE_API_TOKEN=r8_oTzMU5qgaTwlVmpGgKcAe5Jl2zdLdx4HktVDq",
        ],
        counter_examples: &["tvly-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "fc-ac16077eee"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.ai-provider-keyed",
        name: "AI provider API key by name (Cohere, Mistral, DeepSeek, Together, Fireworks…)",
        severity: Severity::High,
        keywords: &[
            "cohere",
            "mistral",
            "deepseek",
            "together",
            "fireworks",
            "voyage",
            "anyscale",
            "gemini",
            "openrouter",
        ],
        patterns: &[keyed!(
            r"(?:cohere|mistral|deepseek|together|fireworks|voyage|anyscale|gemini|openrouter)[A-Za-z0-9_.\-]{0,20}?(?:key|token)",
            r"sk-or-v1-[0-9a-f]{64}|sk-[0-9a-f]{32}|[A-Za-z0-9_\-]{32,64}"
        )],
        filter: Filter::Entropy(3.5),
        description: "An API key assigned to a variable named after an AI provider: runs models \
            on the account's bill.",
        remedy: "Revoke the key in the provider's dashboard and load keys from a secret store.",
        examples: &[
            "MISTRAL_API_KEY=6bJtqAG0hZ2fnmMJuZ2PyDTw7UP7XnSU",
            "DEEPSEEK_API_KEY=\"sk-e07330e321fe66521af7dff58a4b5050\"",
        ],
        counter_examples: &["MISTRAL_API_KEY=${MISTRAL_API_KEY}"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.adobe-client-secret",
        name: "Adobe client secret",
        severity: Severity::High,
        keywords: &["p8e-"],
        patterns: &[concat!(r"\b(?P<secret>p8e-[A-Za-z0-9_\-]{32})", end!())],
        filter: Filter::Entropy(3.5),
        description: "An Adobe Developer Console OAuth client secret: calls Adobe APIs as the \
            integration.",
        remedy: "Rotate the client secret in the Adobe Developer Console.",
        examples: &["\"client_secret\": \"p8e-HF-IX5ixHGo_1JN9FSM0OU9wyzF0lUiD\""],
        counter_examples: &["p8e-_tXA6d9Ceg"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.figma-token",
        name: "Figma personal access token",
        severity: Severity::Medium,
        keywords: &["figd_", "figma"],
        patterns: &[
            concat!(r"\b(?P<secret>figd_[A-Za-z0-9_\-]{40})", end!()),
            keyed!(
                r"x-figma-token|figma[A-Za-z0-9_.\-]{0,20}?token",
                r"\d{3,6}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
            ),
        ],
        description: "A Figma personal access token: reads (and comments on) every file the \
            user can open.",
        remedy: "Revoke it (Settings → Security → Personal access tokens).",
        examples: &[
            "--header='X-Figma-Token: 1564-6bb03273-fd2c-41aa-9e1b-3e295843fb94'",
            "FIGMA_TOKEN=figd_MpgGld-D5PxuiUUTwebH510NeuL9g7hRh4hYfd5z",
        ],
        counter_examples: &["X-Figma-Token: $FIGMA"],
        ..Rule::DEFAULT
    },
];
