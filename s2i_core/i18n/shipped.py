"""The shipped languages: what the catalogues, the formats and the pages all need to know."""

DEFAULT = "en"
PSEUDO = "qps"  # ISO 639's private-use code, as Microsoft's pseudo-locales use it
# code -> the language's name in itself, as the menu shows it (each reader finds their own)
LANGUAGES = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "pt": "Português",
    "hi": "हिन्दी",
    "zh": "中文（简体）",
    "ja": "日本語",
    "ar": "العربية",
}
RTL = frozenset({"ar"})
