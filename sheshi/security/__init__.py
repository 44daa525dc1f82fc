"""Security building blocks: field encryption, secrets, log redaction, request limits, CSP, the
OTP-aware admin site. The model is described in SECURITY.md."""
