"""Every error newsdesk raises on purpose.

    NewsdeskError                      (type slug, HTTP status)
    ├── ConfigError                    config-error, 500
    ├── IngestError                    invalid-article, 422
    │   └── ArticleTooLargeError       article-too-large, 413
    ├── IndexMismatchError             index-mismatch, 409
    ├── StoreUnavailableError          store-unavailable, 503
    ├── EmbedderError                  embedder-error, 503
    ├── ArticleNotFoundError           article-not-found, 404
    ├── PromptError                    prompt-error, 500
    ├── LLMUnavailableError            llm-unavailable, 503
    ├── UnauthorizedError              unauthorized, 401 (WWW-Authenticate: Bearer)
    ├── ForbiddenError                 forbidden, 403
    ├── CollectionNotFoundError        collection-not-found, 404
    ├── FollowNotFoundError            follow-not-found, 404
    ├── InvalidFollowError             invalid-follow, 422
    ├── ApiKeyError                    invalid-api-key-spec, 422
    ├── KeyNotFoundError               key-not-found, 404
    ├── RateLimitedError               rate-limited, 429 (Retry-After)
    ├── OverloadedError                overloaded, 503 (Retry-After)
    └── EvalError                      eval-error, 1 (CLI only)
        └── CassetteMissingError       cassette-missing

Each edge translates them once: `api/problems.py` into RFC 9457 bodies, the CLI into one
line and exit code 1, Slack into a short reply carrying the request id. Messages never
carry secrets: they are written for the person who has to fix the problem.
"""

from __future__ import annotations


class NewsdeskError(Exception):
    type_slug = "newsdesk-error"
    status = 500
    title = "newsdesk error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(NewsdeskError):
    type_slug = "config-error"
    status = 500
    title = "Configuration error"


class IngestError(NewsdeskError):
    type_slug = "invalid-article"
    status = 422
    title = "Invalid article"

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + message)
        self.reason = message
        self.path = path
        self.line = line


class ArticleTooLargeError(IngestError):
    type_slug = "article-too-large"
    status = 413
    title = "Article too large"


class IndexMismatchError(NewsdeskError):
    type_slug = "index-mismatch"
    status = 409
    title = "Index built with another embedder"


class StoreUnavailableError(NewsdeskError):
    type_slug = "store-unavailable"
    status = 503
    title = "Vector store unavailable"


class EmbedderError(NewsdeskError):
    type_slug = "embedder-error"
    status = 503
    title = "Embedding model failed"


class ArticleNotFoundError(NewsdeskError):
    type_slug = "article-not-found"
    status = 404
    title = "Article not found"


class PromptError(NewsdeskError):
    type_slug = "prompt-error"
    status = 500
    title = "Prompt template error"


class LLMUnavailableError(NewsdeskError):
    type_slug = "llm-unavailable"
    status = 503
    title = "Language model unavailable"


class UnauthorizedError(NewsdeskError):
    type_slug = "unauthorized"
    status = 401
    title = "Missing or invalid API key"


class ForbiddenError(NewsdeskError):
    type_slug = "forbidden"
    status = 403
    title = "Not allowed for this API key"


class CollectionNotFoundError(NewsdeskError):
    type_slug = "collection-not-found"
    status = 404
    title = "Collection not found"


class FollowNotFoundError(NewsdeskError):
    type_slug = "follow-not-found"
    status = 404
    title = "Follow not found"


class InvalidFollowError(NewsdeskError):
    type_slug = "invalid-follow"
    status = 422
    title = "Invalid follow"


class ApiKeyError(NewsdeskError):
    type_slug = "invalid-api-key-spec"
    status = 422
    title = "Invalid API key specification"


class KeyNotFoundError(NewsdeskError):
    type_slug = "key-not-found"
    status = 404
    title = "API key not found"


class RateLimitedError(NewsdeskError):
    type_slug = "rate-limited"
    status = 429
    title = "Rate limit exceeded"

    def __init__(self, message: str, *, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class OverloadedError(NewsdeskError):
    type_slug = "overloaded"
    status = 503
    title = "Too many requests in progress"

    def __init__(self, message: str, *, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class EvalError(NewsdeskError):
    type_slug = "eval-error"
    title = "Evaluation error"


class CassetteMissingError(EvalError):
    type_slug = "cassette-missing"
    title = "No recorded model response"
