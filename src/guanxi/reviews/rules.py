"""Policy rules of this capability, declared with policy.registry.rule (imported by the
registry, so they are part of REGISTRY and of docs/policies.md)."""

from __future__ import annotations
