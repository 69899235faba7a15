"""Access control: sign-in, roles, need-to-know policy, break-glass, and the tamper-evident audit log."""
